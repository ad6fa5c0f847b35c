"""/metrics: Prometheus text format, protected, with the counters the hooks increment and the
dashboard's figures; multiprocess-safe (several processes' counters added up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.orchestration.models import PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_are_refused_to_other_addresses_and_without_the_token(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.METRICS_TOKEN = "scrape-token-1"
    refused = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer nope")
    assert refused.status_code == 401
    ok = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-token-1")
    assert ok.status_code == 200


def test_an_allowed_network_may_scrape(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_webhooks_nodes_and_notifications_are_counted(client, settings):
    settings.ALERTS_WEBHOOK_TOKEN = "tok"
    definition("ingest-only", [{"id": "ingest", "type": "ingest"}])
    settings.ALERTS_DEFAULT_PIPELINE = "ingest-only"
    before = scrape(client)
    auth = {"HTTP_AUTHORIZATION": "Bearer tok"}
    body = json.dumps({"title": "Disk", "severity": "warning", "fingerprint": "d1"})

    accepted = client.post("/alerts/webhook/generic/", body, "application/json", **auth)
    unknown = client.post("/alerts/webhook/<script>/", body, "application/json", **auth)
    after = scrape(client)

    assert accepted.status_code == 202 and unknown.status_code == 404
    webhooks = "alertpipes_webhook_deliveries_total"
    assert value(after, webhooks, source="generic", code="202") == (
        value(before, webhooks, source="generic", code="202") + 1
    )
    assert value(after, webhooks, source="unknown", code="404") >= 1
    nodes = "alertpipes_node_duration_seconds_count"
    assert value(after, nodes, node_type="ingest", outcome="ok") == (
        value(before, nodes, node_type="ingest", outcome="ok") + 1
    )


def test_the_dashboard_figures_are_exported(client):
    PipelineRun.objects.create(
        definition_name="alerts", trace_id="t", status="failed", duration_ms=10
    )
    PipelineRun.objects.create(
        definition_name="alerts", trace_id="t", status="completed", duration_ms=30
    )
    from apps.monitoring import exposition

    exposition._cache.clear()
    samples = scrape(client)

    assert value(samples, "alertpipes_runs_last_24h", definition="alerts", status="failed") == 1
    assert value(samples, "alertpipes_run_failure_ratio_last_24h") == 0.5
    assert value(samples, "alertpipes_run_duration_seconds_last_24h", quantile="0.5") == 0.02
    assert "alertpipes_runs_stalled" in samples
    assert "alertpipes_incidents_open" in samples


MULTIPROCESS_SCRIPT = """
import multiprocessing, os, sys
import django
django.setup()
from apps.monitoring import metrics

def work(n):
    for _ in range(n):
        metrics.count_webhook("generic", 202)
    metrics.observe_node("notify", 0.2, "ok", 2)

if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(n,)) for n in (3, 4)]
    for p in procs: p.start()
    for p in procs: p.join()
    from apps.monitoring.exposition import MultiProcessCollector
    from prometheus_client import CollectorRegistry, generate_latest
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics.MULTIPROC_DIR)
    sys.stdout.write(generate_latest(registry).decode())
"""


def test_counters_of_several_processes_are_added_up(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert (
        samples[("alertpipes_webhook_deliveries_total", (("code", "202"), ("source", "generic")))]
        == 7
    )
    assert samples[("alertpipes_node_retries_total", (("node_type", "notify"),))] == 2
    files = os.listdir(tmp_path / "metrics")
    assert len([f for f in files if f.startswith("counter_")]) == 3  # parent and two children
    # Named by host and pid: containers sharing the directory never share a file.
    assert all("_" in f.removeprefix("counter_") for f in files)
