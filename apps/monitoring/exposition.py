"""``/metrics``: the counters of every process plus the dashboard's figures, in Prometheus
text format.

The figures are read from the database and the broker at scrape time (at most once per
``FIGURES_TTL`` per web process, so a scrape storm does not become a query storm).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.monitoring import broker, figures, metrics

FIGURES_TTL = 10.0
_cache: dict[str, tuple[float, list[Metric]]] = {}
_lock = threading.Lock()


class OwnMetrics(Collector):
    """This process's counters (single-process mode: no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from metrics.REGISTRY.collect()


class FiguresCollector(Collector):
    """The dashboard's figures as gauges."""

    def collect(self) -> Iterator[Metric]:
        with _lock:
            cached = _cache.get("figures")
            if cached is None or time.monotonic() - cached[0] > FIGURES_TTL:
                cached = (time.monotonic(), list(_figures()))
                _cache["figures"] = cached
        yield from cached[1]


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def _figures() -> Iterator[Metric]:
    runs = figures.run_figures()
    by_definition = _gauge(
        "alertpipes_runs_last_24h",
        "Runs created in the last 24 hours, by definition and status.",
        ["definition", "status"],
    )
    for definition in runs.by_definition:
        for status, count in definition.by_status.items():
            by_definition.add_metric([definition.name, status], count)
    yield by_definition
    rate = _gauge(
        "alertpipes_run_failure_ratio_last_24h",
        "Failed among finished (completed or failed) runs of the last 24 hours.",
    )
    rate.add_metric([], runs.failure_rate if runs.failure_rate is not None else 0.0)
    yield rate
    duration = _gauge(
        "alertpipes_run_duration_seconds_last_24h",
        "Duration of finished runs of the last 24 hours, at the given quantile.",
        ["quantile"],
    )
    for quantile, ms in (("0.5", runs.p50_ms), ("0.99", runs.p99_ms)):
        if ms is not None:
            duration.add_metric([quantile], ms / 1000)
    yield duration
    stalled = _gauge(
        "alertpipes_runs_stalled", "Open runs whose current node is past its deadline."
    )
    stalled.add_metric([], runs.stalled)
    yield stalled
    incidents = _gauge(
        "alertpipes_incidents_open", "Open or acknowledged incidents, by severity.", ["severity"]
    )
    for severity, count in figures.open_incidents().items():
        incidents.add_metric([severity], count)
    yield incidents
    yield from _broker_figures()
    channels = _gauge(
        "alertpipes_channel_last_delivery_failed",
        "1 when the channel's last delivery failed or its outcome is unknown.",
        ["channel", "driver"],
    )
    for channel in figures.channel_health():
        if channel.last_status:
            failed = channel.last_status in ("failed", "unknown")
            channels.add_metric([channel.name, channel.driver], 1.0 if failed else 0.0)
    yield channels


def _broker_figures() -> Iterator[Metric]:
    depth = _gauge(
        "alertpipes_queue_depth", "Messages waiting in each node queue of the broker.", ["queue"]
    )
    for queue, count in broker.queue_depths().items():
        if count is not None:
            depth.add_metric([queue], count)
    yield depth
    answering = broker.workers_answering()
    if answering is not None:
        workers = _gauge("alertpipes_workers_answering", "Celery workers that answered a ping.")
        workers.add_metric([], len(answering))
        yield workers
    beat = broker.beat_status()
    if beat.age_seconds is not None:
        age = _gauge(
            "alertpipes_recovery_last_tick_age_seconds",
            "Seconds since the recovery task last ran (beat alive).",
        )
        age.add_metric([], beat.age_seconds)
        yield age


def exposition() -> bytes:
    registry = CollectorRegistry()
    if metrics.MULTIPROC_DIR:
        MultiProcessCollector(registry, path=metrics.MULTIPROC_DIR)
    else:
        registry.register(OwnMetrics())
    registry.register(FiguresCollector())
    return generate_latest(registry)
