"""The monitor's own counters, for ``/metrics`` (Prometheus text format).

Events are counted where they happen, by hooks that cost a few microseconds (one counter
increment): webhook deliveries, node executions, retries, notifications. States (runs of the
last 24 h, stalled runs, queue depth, open incidents) are read at scrape time by
``apps.monitoring.exposition`` from the database and the broker, like the dashboard.

Processes: gunicorn's workers, Celery's prefork children and thread pools each count in their
own memory unless ``PROMETHEUS_MULTIPROC_DIR`` names a directory they all share; then every
process writes its counters to files there (prometheus-client's multiprocess mode) and
``/metrics`` adds them up. Files are named by host and pid, so containers that share the
directory (compose) never write to one file. The variable must be set before the process
starts (the deploy files do); empty the directory when the whole stack restarts.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import CollectorRegistry, Counter, Histogram, values

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
_HOST = socket.gethostname()


def _process_identifier() -> str:
    # Called on every increment (prometheus-client checks for a fork): keep it trivial.
    return f"{_HOST}_{os.getpid()}"


if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)
    values.ValueClass = values.MultiProcessValue(_process_identifier)
elif "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    # Set but empty: the client would write its files into the working directory.
    values.ValueClass = values.MutexValue

# Our metrics only (not the client's process/platform collectors, which are per process and
# meaningless summed over many).
REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "alertpipes_webhook_deliveries",
    "Webhook requests answered, by source (as routed) and HTTP status code.",
    ["source", "code"],
    registry=REGISTRY,
)
NODE_DURATION = Histogram(
    "alertpipes_node_duration_seconds",
    "Time spent in node handlers, by node type and outcome (ok, error, raised).",
    ["node_type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
NODE_RETRIES = Counter(
    "alertpipes_node_retries",
    "Node attempts after the first that started (engine backoff or an operator's retry).",
    ["node_type"],
    registry=REGISTRY,
)
RUN_RETRIES = Counter(
    "alertpipes_run_retries",
    "Failed runs retried from their failed node by an operator (admin, API, CLI).",
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "alertpipes_notifications",
    "Notification attempts per channel send, by driver and outcome (the delivery status).",
    ["driver", "outcome"],
    registry=REGISTRY,
)


def count_webhook(source: str, code: int) -> None:
    WEBHOOKS.labels(source, str(code)).inc()


def observe_node(node_type: str, seconds: float, outcome: str, attempt: int) -> None:
    NODE_DURATION.labels(node_type, outcome).observe(seconds)
    if attempt > 1:
        NODE_RETRIES.labels(node_type).inc()


def count_notification(driver: str, outcome: str) -> None:
    NOTIFICATIONS.labels(driver, outcome).inc()
