"""The dashboard's figures, from real rows: runs by status and definition, failure rate,
duration percentiles, stalled runs, open incidents, channels, AI providers, beat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Incident
from apps.monitoring import broker, figures, heartbeat
from apps.notify.models import Delivery, NotificationChannel
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db


def run(name: str, status: str, duration_ms: float | None = None, **extra) -> PipelineRun:
    return PipelineRun.objects.create(
        definition_name=name, trace_id="t", status=status, duration_ms=duration_ms, **extra
    )


def test_runs_of_the_last_day_by_status_and_definition_with_failure_rate_and_percentiles():
    for ms in (100, 200, 300, 400):
        run("alerts", "completed", ms)
    run("alerts", "failed", 1000)
    run("checks", "cancelled", 50)
    run("checks", "running")
    old = run("alerts", "failed", 5)
    PipelineRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    found = figures.run_figures()

    assert found.total == 7
    assert found.by_status["completed"] == 4 and found.by_status["failed"] == 1
    assert [(d.name, d.total) for d in found.by_definition] == [("alerts", 5), ("checks", 2)]
    assert found.failure_rate == pytest.approx(1 / 5)
    # percentile_cont over 100, 200, 300, 400, 1000 (cancelled and open runs left out).
    assert found.p50_ms == pytest.approx(300)
    assert found.p99_ms == pytest.approx(400 + 0.96 * 600)


def test_no_finished_run_means_no_rate_and_no_percentiles():
    run("alerts", "running")
    found = figures.run_figures()
    assert found.failure_rate is None
    assert (found.p50_ms, found.p99_ms) == (None, None)


def test_stalled_runs_are_open_runs_past_their_deadline():
    past = timezone.now() - timedelta(minutes=5)
    stalled = run("alerts", "running", node_deadline=past, current_node="notify")
    run("alerts", "running", node_deadline=timezone.now() + timedelta(minutes=5))
    run("alerts", "failed", node_deadline=past)

    found = figures.run_figures()

    assert found.stalled == 1
    assert [r.pk for r in found.stalled_runs] == [stalled.pk]


def test_open_incidents_by_severity_most_severe_first():
    for i, (severity, status) in enumerate(
        [
            ("critical", "open"),
            ("critical", "acknowledged"),
            ("warning", "open"),
            ("info", "closed"),
        ]
    ):
        Incident.objects.create(
            title="x", severity=severity, status=status, source="generic", group_key=f"g{i}"
        )
    counts = figures.open_incidents()
    assert counts["critical"] == 2 and counts["warning"] == 1 and counts["info"] == 0
    assert list(counts)[0] == "critical"


def test_each_channel_shows_its_last_delivery_and_last_error():
    NotificationChannel.objects.create(
        name="ops", driver="generic", config={"endpoint_url": "https://example.com/hook"}
    )
    Delivery.objects.create(
        run_id="r1", node_id="n", channel="ops", driver="generic", status="failed", error="503"
    )
    Delivery.objects.create(
        run_id="r2", node_id="n", channel="ops", driver="generic", status="sent"
    )

    [ops] = figures.channel_health()

    assert (ops.last_status, ops.last_error) == ("sent", "503")


def test_ai_providers_say_which_key_is_missing_for_which_definition(settings):
    from apps.orchestration.models import PipelineDefinition

    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = "sk-ant-set"
    PipelineDefinition.objects.create(
        name="ai",
        config={
            "version": "1",
            "nodes": [{"id": "i", "type": "intelligence", "config": {"provider": "openai"}}],
        },
    )
    providers = {p.name: p for p in figures.ai_providers()}
    assert providers["local"].configured
    assert not providers["openai"].configured and providers["openai"].used_by == ["ai"]
    assert providers["claude"].configured


def test_beat_is_alive_while_the_recovery_task_ticks(settings):
    settings.PIPELINE_RECOVERY_INTERVAL_SECONDS = 30
    assert not broker.beat_status().alive
    from apps.orchestration.tasks import recover_stalled_runs

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # the task only runs with a broker
    recover_stalled_runs()

    status = broker.beat_status()
    assert status.alive and "beat" in status.detail
    heartbeat.Heartbeat.objects.update(at=timezone.now() - timedelta(seconds=91))
    assert not broker.beat_status().alive


def test_without_a_broker_there_are_no_queues_and_no_workers_to_ask():
    assert broker.queue_depths() == {}
    assert broker.workers_answering() is None
