"""Webhook delivery guarantees: a repeat starts no second run, a broker outage loses no run."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from apps.alerts.models import WebhookDelivery
from apps.alerts.tests.webhook_support import ingest_only_definition, post
from apps.orchestration.models import PipelineDefinition, PipelineRun

ALERT = {"title": "Disk full", "severity": "warning", "fingerprint": "disk-1"}


@pytest.fixture
def ingest_only(settings) -> None:
    # These tests are about deduplication; an unchanged re-push that gets past it is noise
    # control's business (apps/noise/tests), so its change gate is off here.
    ingest_only_definition(on_unchanged="run")
    settings.ALERTS_DEFAULT_PIPELINE = "ingest-only"


# --- idempotency -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_repeated_idempotency_key_answers_the_first_run_and_starts_no_other(ingest_only) -> None:
    first = post("/alerts/webhook/generic/", ALERT, **{"Idempotency-Key": "delivery-1"})
    # Different content, same key: the sender says it is the same delivery.
    again = post(
        "/alerts/webhook/generic/",
        {**ALERT, "fingerprint": "x"},
        **{"Idempotency-Key": "delivery-1"},
    )
    other = post("/alerts/webhook/generic/", ALERT, **{"Idempotency-Key": "delivery-2"})

    assert first.status_code == other.status_code == 202
    # The repeat answers with the earlier run and its real status (it ran in-process).
    assert again.status_code == 200
    assert again.json() == {**first.json(), "status": "completed", "replayed": True}
    assert again["Idempotent-Replayed"] == "true"
    assert other.json()["run_id"] != first.json()["run_id"]
    assert PipelineRun.objects.count() == 2


@pytest.mark.django_db
def test_the_pipeline_path_honours_the_idempotency_key(ingest_only) -> None:
    first = post("/orchestration/pipeline/", {"job": 1}, **{"Idempotency-Key": "k"})
    again = post("/orchestration/pipeline/", {"job": 1}, **{"Idempotency-Key": "k"})
    unkeyed = post("/orchestration/pipeline/", {"job": 1})

    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.json()["replayed"] is True
    assert unkeyed.json()["run_id"] != first.json()["run_id"]
    assert PipelineRun.objects.count() == 2


@pytest.mark.django_db
def test_the_same_alert_and_status_within_the_window_starts_no_second_run(ingest_only) -> None:
    first = post("/alerts/webhook/generic/", ALERT)
    again = post("/alerts/webhook/generic/", {**ALERT, "description": "resent"})
    detected = post("/alerts/webhook/", ALERT)  # same source once detected

    assert again.json()["run_id"] == first.json()["run_id"] == detected.json()["run_id"]
    assert again.status_code == detected.status_code == 200
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [{"status": "resolved"}, {"severity": "critical"}, {"fingerprint": "disk-2"}],
)
def test_a_change_of_status_severity_or_alert_is_a_new_delivery(ingest_only, change) -> None:
    first = post("/alerts/webhook/generic/", ALERT)
    changed = post("/alerts/webhook/generic/", {**ALERT, **change})

    assert changed.json()["run_id"] != first.json()["run_id"]


@pytest.mark.django_db
def test_a_repeat_of_a_failed_run_answers_with_its_real_status(settings) -> None:
    # An AI provider with no key and no fallback: the run fails.
    settings.OPENAI_API_KEY = ""
    PipelineDefinition.objects.create(
        name="breaks",
        config={
            "version": "1.0",
            "nodes": [
                {"id": "ingest", "type": "ingest", "next": "ai"},
                {
                    "id": "ai",
                    "type": "intelligence",
                    "config": {"provider": "openai", "provider_config": {"fallback": False}},
                },
            ],
        },
    )
    settings.ALERTS_DEFAULT_PIPELINE = "breaks"
    first = post("/alerts/webhook/generic/", ALERT)
    again = post("/alerts/webhook/generic/", ALERT)

    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert PipelineRun.objects.get().status == "failed"
    assert again.status_code == 200
    assert again.json()["status"] == "failed"
    assert again.json()["run_id"] == first.json()["run_id"]


@pytest.mark.django_db
def test_a_repeat_after_the_window_starts_a_new_run(ingest_only, settings) -> None:
    first = post("/alerts/webhook/generic/", ALERT)
    old = timezone.now() - timedelta(seconds=settings.ALERTS_DEDUP_WINDOW_SECONDS + 1)
    WebhookDelivery.objects.update(created_at=old)

    later = post("/alerts/webhook/generic/", ALERT)
    repeat = post("/alerts/webhook/generic/", ALERT)

    assert later.json()["run_id"] != first.json()["run_id"]
    assert repeat.json()["run_id"] == later.json()["run_id"]
    assert WebhookDelivery.objects.get().run.run_id == later.json()["run_id"]


@pytest.mark.django_db
def test_a_zero_window_turns_content_deduplication_off(ingest_only, settings) -> None:
    settings.ALERTS_DEDUP_WINDOW_SECONDS = 0

    first = post("/alerts/webhook/generic/", ALERT)
    again = post("/alerts/webhook/generic/", ALERT)

    assert again.json()["run_id"] != first.json()["run_id"]


# --- with a broker (real Redis, no worker) -----------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_run_is_stored_pending_and_its_entry_node_is_queued(
    celery_on_test_redis, ingest_only
) -> None:
    response = post("/alerts/webhook/generic/", ALERT)

    assert response.status_code == 202
    run = PipelineRun.objects.get(run_id=response.json()["run_id"])
    assert run.status == "pending"
    assert run.current_node == "ingest"
    client = redis.Redis.from_url(celery_on_test_redis.conf.broker_url)
    # The answer does not wait for the broker: the process's outbox relay publishes the
    # entry step right after, then records that its message exists.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.dispatch_expires_at is not None:
            break
        time.sleep(0.02)
    assert run.dispatch_expires_at is not None and run.dispatch_count == 1
    # The message is in the configured broker's queue (or already taken by a worker there).
    taken = run.stage_executions.exists()
    assert client.llen("nodes.ingest") + int(taken) == 1


@pytest.fixture
def broker_down(settings):
    """Celery pointed at a closed port, as when Redis is down."""
    from workers.app import app

    url = "redis://127.0.0.1:1/0"
    previous = app.conf.broker_url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = previous
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_run_is_stored_answered_202_and_left_to_recovery(
    broker_down, ingest_only
) -> None:
    from apps.orchestration.outbox import relay

    deferred = relay().deferred
    response = post("/alerts/webhook/generic/", ALERT)

    # The request never touches the broker: the run is stored and the answer is the usual one.
    assert response.status_code == 202
    body = response.json()
    run = PipelineRun.objects.get(run_id=body["run_id"])
    assert run.status == "pending"
    # The relay could not publish it, and the run says so: recovery publishes it once Redis
    # is back (not taking it for a message queued behind others).
    deadline = time.monotonic() + 10
    while relay().deferred == deferred and time.monotonic() < deadline:
        time.sleep(0.05)
    assert relay().deferred == deferred + 1
    run.refresh_from_db()
    assert run.dispatch_expires_at is None and run.dispatch_count == 0
    # The sender's retry is the same delivery: it gets the stored run, not a second one.
    retry = post("/alerts/webhook/generic/", ALERT)
    assert retry.json()["run_id"] == body["run_id"]
    assert PipelineRun.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_deliveries_start_one_run(celery_on_test_redis, ingest_only) -> None:
    answers: list[dict] = []
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        try:
            answers.append(post("/alerts/webhook/generic/", ALERT).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({a["run_id"] for a in answers}) == 1, answers
    assert PipelineRun.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_relay_lets_go_of_its_database_connection_when_asked(
    celery_on_test_redis, ingest_only
) -> None:
    from apps.orchestration.outbox import relay

    assert post("/alerts/webhook/generic/", ALERT).status_code == 202
    assert relay().release(timeout=10)
    # A closed connection's server process leaves pg_stat_activity a moment after the client
    # hung up (PostgreSQL ends it asynchronously): look until it is gone, for 5 s at most.
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, state, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            others = cursor.fetchall()
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert others == []  # nothing but this test's own connection holds the database
