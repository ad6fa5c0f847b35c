"""The embedded default (no broker): the webhook commits its run and answers; this process's
threads run the nodes afterwards; an interrupted run is picked up again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from apps.alerts.tests.conftest import WEBHOOK_TOKEN
from apps.alerts.tests.webhook_support import post
from apps.notify.models import Delivery, NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.orchestration import engine, inprocess
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import claim
from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineDefinition, PipelineRun, RunStatus, StageExecution

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def background(settings, monkeypatch) -> Iterator[inprocess.Executor]:
    """The embedded default, with an executor of this test's own (stopped afterwards)."""
    settings.PIPELINE_EMBEDDED_EXECUTION = "background"
    settings.ALERTS_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.PIPELINE_RECOVERY_INTERVAL_SECONDS = 3600  # sweeps only when a test starts one
    fresh = inprocess.Executor()
    monkeypatch.setattr(inprocess, "_executor", fresh)
    yield fresh
    fresh.stop()


def pipeline(name: str, server: RecordingServer, *middle: dict) -> PipelineDefinition:
    NotificationChannel.objects.create(
        name="hook", driver="generic", config={"endpoint_url": f"{server.url}/hook"}
    )
    nodes = [
        {"id": "ingest", "type": "ingest"},
        *middle,
        {"id": "notify", "type": "notify", "config": {"channels": ["hook"]}},
    ]
    return PipelineDefinition.objects.create(name=name, config={"version": "1.0", "nodes": nodes})


ALERT = {"title": "Disk full on web-1", "severity": "critical", "host": "web-1"}


def test_a_webhook_answers_before_its_pipeline_runs(background, http_server, test_node_types):
    slow = {"id": "slow", "type": "sleep", "config": {"seconds": 1.5}}
    pipeline("slow-pipeline", http_server, slow)

    started = time.monotonic()
    response = post("/orchestration/pipeline/?definition=slow-pipeline", ALERT)
    answered = time.monotonic() - started

    assert response.status_code == 202, response.content
    assert answered < 1.0  # the 1.5 s node did not run in the request
    run_id = response.json()["run_id"]
    assert PipelineRun.objects.get(run_id=run_id).status != RunStatus.COMPLETED
    assert background.wait_idle(30)
    run = PipelineRun.objects.get(run_id=run_id)
    assert run.status == RunStatus.COMPLETED, run.error_message
    assert len(http_server.requests) == 1
    assert Delivery.objects.get(run_id=run_id).status == "sent"


def test_nothing_is_sent_from_a_transaction_that_rolls_back(background, http_server):
    definition = pipeline("rolled-back", http_server)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        DefinitionBasedOrchestrator(definition).start(payload=ALERT, source="test")
        raise Abort  # e.g. the webhook's dedup insert fails after the run row

    assert background.wait_idle(5)
    time.sleep(0.2)
    assert PipelineRun.objects.count() == 0
    assert http_server.requests == []
    assert Delivery.objects.count() == 0


def test_retry_backoff_waits_on_a_timer_not_in_the_caller(background, test_node_types):
    nodes = [{"id": "a", "type": "memflaky", "config": {"fail_times": 1}}]
    config = {"version": "1.0", "nodes": nodes, "defaults": {"retry_backoff_seconds": 1.2}}
    definition = PipelineDefinition.objects.create(name="backoff", config=config)

    started = time.monotonic()
    run = DefinitionBasedOrchestrator(definition).start(source="test")
    assert time.monotonic() - started < 0.5
    assert background.wait_idle(30)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    first, second = StageExecution.objects.filter(run=run).order_by("attempt")
    assert (second.started_at - first.completed_at).total_seconds() >= 0.55


def interrupted_run() -> PipelineRun:
    """A run whose process died mid-node: lease lapsed, deadline passed, nothing queued."""
    definition = PipelineDefinition.objects.create(
        name=f"interrupted-{time.monotonic_ns()}",
        config={
            "version": "1.0",
            "nodes": [{"id": "a", "type": "sleep"}, {"id": "b", "type": "sleep"}],
        },
    )
    run = DefinitionBasedOrchestrator(definition)._create(
        None, "test", None, "test", None, InlineRunner()
    )
    claim(run.run_id, "a", 1, InlineRunner(worker="gone"))
    past = sql.db_clock().now() - timedelta(minutes=2)
    StageExecution.objects.filter(run=run).update(lease_expires_at=past)
    PipelineRun.objects.filter(pk=run.pk).update(node_deadline=past)
    return run


def test_recover_runs_completes_an_interrupted_in_process_run(test_node_types):
    run = interrupted_run()
    out = StringIO()
    call_command("recover_runs", stdout=out)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert f"Recovered 1 stalled run(s) in this process.\n  {run.run_id}" in out.getvalue()
    assert StageExecution.objects.get(run=run, node_id="a").starts == 2


def test_the_next_start_of_the_process_picks_up_an_interrupted_run(background, test_node_types):
    run = interrupted_run()
    background.start()  # what the WSGI entry point does when the web process starts
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == RunStatus.COMPLETED:
            break
        time.sleep(0.1)
    assert run.status == RunStatus.COMPLETED
    assert background.wait_idle(10)


def test_a_slow_receiver_never_holds_the_webhook(background, http_server):
    pipeline("slow-receiver", http_server)
    http_server.default = Reply(delay=1.5)
    started = time.monotonic()
    response = post("/orchestration/pipeline/?definition=slow-receiver", ALERT)
    assert response.status_code == 202
    assert time.monotonic() - started < 1.0
    assert background.wait_idle(30)
    assert engine.recover_stalled_runs(InlineRunner()) == []
