"""Celery app wired to Django settings, with one queue per node type.

A worker started plainly (``celery -A workers worker``) consumes every queue listed here;
``-Q nodes.notify`` dedicates one to notifications so slow AI calls never starve them.
"""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Queue

from project.envfile import load_env_file

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# The beat schedule below reads the environment before Django's settings are loaded.
load_env_file()

NODE_QUEUE_PREFIX = "nodes."
NODE_TYPES_WITH_QUEUES = ("ingest", "context", "intelligence", "transform", "condition", "notify")
# Node types added by operators (PIPELINE_EXTRA_NODE_HANDLERS) share one queue.
EXTRA_NODES_QUEUE = NODE_QUEUE_PREFIX + "default"
MAINTENANCE_QUEUE = "maintenance"
# Node types that mostly wait (HTTP to AI providers and channels, SMTP, probes): in the
# production layout a thread-pool worker consumes their queues, so a slow call holds a thread,
# not a process. Everything else runs on a prefork worker (docs/operations.md).
IO_NODE_TYPES = ("context", "intelligence", "notify")
IO_QUEUES = tuple(NODE_QUEUE_PREFIX + t for t in IO_NODE_TYPES)

app = Celery("alertpipes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(NODE_QUEUE_PREFIX + t) for t in NODE_TYPES_WITH_QUEUES] + [
    Queue(EXTRA_NODES_QUEUE),
    Queue(MAINTENANCE_QUEUE),
    Queue("celery"),
]
app.conf.task_default_queue = "celery"
app.conf.task_routes = {
    "orchestration.recover_stalled_runs": {"queue": MAINTENANCE_QUEUE},
    "orchestration.run_scheduled_pipeline": {"queue": MAINTENANCE_QUEUE},
    "alerts.prune_webhook_deliveries": {"queue": MAINTENANCE_QUEUE},
    "orchestration.prune_runs": {"queue": MAINTENANCE_QUEUE},
    "noise.*": {"queue": MAINTENANCE_QUEUE},
}
# Celery's Django fixup closes the database connection before and after every task unless
# this is set: a reconnect per node cost more than the node itself. Connections are kept and
# closed the way Django closes them per request instead (see below).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks(["apps.orchestration", "apps.alerts", "apps.noise"])


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**kwargs: object) -> None:
    """Drop connections that errored or outlived CONN_MAX_AGE, as Django does per request."""
    from django.db import close_old_connections

    close_old_connections()


# Beat's default schedule. django-celery-beat's DatabaseScheduler copies it into its tables
# at start, where operators can see it next to their own schedules.
RECOVERY_TASK_NAME = "orchestration.recover_stalled_runs"
NOISE_SWEEP_INTERVAL = float(os.environ.get("NOISE_SWEEP_INTERVAL_SECONDS", "60"))
app.conf.beat_schedule = {
    "pipeline-recovery": {
        "task": RECOVERY_TASK_NAME,
        "schedule": float(os.environ.get("PIPELINE_RECOVERY_INTERVAL_SECONDS", "30")),
        "options": {"queue": MAINTENANCE_QUEUE, "expires": 60},
    },
    # Webhook dedup records are only needed inside their window (a day at most).
    "prune-webhook-deliveries": {
        "task": "alerts.prune_webhook_deliveries",
        "schedule": 3600.0,
        "options": {"queue": MAINTENANCE_QUEUE, "expires": 600},
    },
    # Finished runs older than RUN_RETENTION_DAYS (0: kept forever).
    "prune-runs": {
        "task": "orchestration.prune_runs",
        "schedule": 3600.0,
        "options": {"queue": MAINTENANCE_QUEUE, "expires": 600},
    },
    # Noise control (docs/noise.md): a reminder or an end-of-maintenance message is at most
    # one interval late; each firing is idempotent per slot, so a double fire sends once.
    **{
        entry: {
            "task": task,
            "schedule": NOISE_SWEEP_INTERVAL,
            "options": {"queue": MAINTENANCE_QUEUE, "expires": max(NOISE_SWEEP_INTERVAL, 30.0)},
        }
        for entry, task in (
            ("noise-reminders", "noise.send_reminders"),
            ("noise-silence-ends", "noise.end_silences"),
            ("noise-flap-ends", "noise.end_flapping"),
        )
    },
    "noise-prune": {
        "task": "noise.prune",
        "schedule": 3600.0,
        "options": {"queue": MAINTENANCE_QUEUE, "expires": 600},
    },
}


def queue_for_node(node_type: str, override: str | None = None) -> str:
    """The queue a node runs on: the node's own ``queue`` if set, else its type's queue."""
    if override:
        return override
    return (
        NODE_QUEUE_PREFIX + node_type if node_type in NODE_TYPES_WITH_QUEUES else EXTRA_NODES_QUEUE
    )
