"""The recovery sweep against real Redis and PostgreSQL: per-run isolation, no flooding of a
backed-up queue, message expiry, and long waits kept in the database."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import redis

from apps.orchestration import engine
from apps.orchestration.celery_runner import CeleryRunner
from apps.orchestration.engine import sql
from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus
from apps.orchestration.tests.helpers import new_run
from tests.support.services import redis_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HELD_QUEUE = "held-for-recovery-test"


def stall(*runs: PipelineRun) -> None:
    """Their deadline passed a minute ago (the clock moved on, nothing happened)."""
    past = sql.db_clock().now() - timedelta(minutes=1)
    PipelineRun.objects.filter(pk__in=[r.pk for r in runs]).update(node_deadline=past)


def queued(queue: str) -> list[dict[str, Any]]:
    """The messages waiting in ``queue`` (kombu's Redis layout: a list of JSON envelopes)."""
    client = redis.Redis.from_url(redis_url())
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def task_args(message: dict[str, Any]) -> list[Any]:
    body = json.loads(base64.b64decode(message["body"]))
    return body[0]


def test_one_corrupt_run_does_not_stop_the_recovery_sweep(test_node_types, monkeypatch, caplog):
    corrupt = new_run([{"id": "a", "type": "sleep"}])
    exploding = new_run([{"id": "a", "type": "sleep"}])
    healthy = new_run([{"id": "a", "type": "sleep"}])
    # A frozen config that no longer names the run's node (edited by hand, a bad migration).
    PipelineRun.objects.filter(pk=corrupt.pk).update(current_node="ghost")
    stall(corrupt, exploding, healthy)
    # Something nobody foresaw goes wrong for one run only.
    real_step_for = engine.recovery.step_for

    def step_for(run_id: str, *args: Any, **kwargs: Any):
        if run_id == exploding.run_id:
            raise RuntimeError("unforeseen")
        return real_step_for(run_id, *args, **kwargs)

    monkeypatch.setattr(engine.recovery, "step_for", step_for)
    runner = InlineRunner()
    with caplog.at_level(logging.ERROR):
        recovered = engine.recover_stalled_runs(runner)

    assert recovered == [healthy.run_id]
    assert [s.run_id for s in runner.pending] == [healthy.run_id]
    corrupt.refresh_from_db()
    assert corrupt.status == RunStatus.FAILED
    assert "recovery cannot schedule node 'ghost'" in corrupt.error_message
    exploding.refresh_from_db()
    assert exploding.status == RunStatus.PENDING
    # Looked at again later, not first in every sweep.
    assert exploding.node_deadline > sql.db_clock().now()
    assert f"recovery skipped run pk={exploding.pk}" in caplog.text


def test_a_step_queued_behind_others_is_not_published_again(celery_on_test_redis):
    run = new_run([{"id": "a", "type": "count", "queue": HELD_QUEUE}], runner=CeleryRunner())
    assert [task_args(m) for m in queued(HELD_QUEUE)] == [[run.run_id, "a", 1]]
    stall(run)

    # Its message waits in a queue nobody consumes yet: waiting is not being lost.
    for _ in range(3):
        assert engine.recover_stalled_runs(CeleryRunner()) == []
    assert len(queued(HELD_QUEUE)) == 1
    run.refresh_from_db()
    assert run.dispatch_count == 1 and run.node_deadline > sql.db_clock().now()

    # Redis loses the queue: the next sweep past the deadline publishes the step once more.
    redis.Redis.from_url(redis_url()).delete(HELD_QUEUE)
    stall(run)
    assert engine.recover_stalled_runs(CeleryRunner()) == [run.run_id]
    assert engine.recover_stalled_runs(CeleryRunner()) == []
    assert [task_args(m) for m in queued(HELD_QUEUE)] == [[run.run_id, "a", 1]]
    run.refresh_from_db()
    assert run.dispatch_count == 2


def test_published_steps_carry_an_expiry_matching_the_runs_record(celery_on_test_redis):
    run = new_run([{"id": "a", "type": "count", "queue": HELD_QUEUE}], runner=CeleryRunner())
    (message,) = queued(HELD_QUEUE)
    run.refresh_from_db()
    expires = message["headers"]["expires"]
    assert expires is not None
    from datetime import datetime

    assert abs(datetime.fromisoformat(expires) - run.dispatch_expires_at) < timedelta(seconds=5)


def test_an_expired_message_is_published_again_even_behind_a_backlog(celery_on_test_redis):
    run = new_run([{"id": "a", "type": "count", "queue": HELD_QUEUE}], runner=CeleryRunner())
    past = sql.db_clock().now() - timedelta(seconds=1)
    PipelineRun.objects.filter(pk=run.pk).update(dispatch_expires_at=past)
    stall(run)
    assert engine.recover_stalled_runs(CeleryRunner()) == [run.run_id]
    assert len(queued(HELD_QUEUE)) == 2  # the expired copy is discarded by whoever takes it


def test_a_step_published_again_and_again_without_starting_fails_saying_so(
    celery_on_test_redis, settings
):
    settings.PIPELINE_NODE_MAX_STARTS = 3
    run = new_run([{"id": "a", "type": "count", "queue": HELD_QUEUE}], runner=CeleryRunner())
    for _ in range(2):  # lost twice, published again twice
        redis.Redis.from_url(redis_url()).delete(HELD_QUEUE)
        stall(run)
        assert engine.recover_stalled_runs(CeleryRunner()) == [run.run_id]
    redis.Redis.from_url(redis_url()).delete(HELD_QUEUE)
    stall(run)
    assert engine.recover_stalled_runs(CeleryRunner()) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error_message == (
        "node a was published 3 times and never started (see the worker logs)"
    )


def test_a_long_backoff_waits_in_the_database_not_in_the_broker(
    celery_on_test_redis, test_node_types, settings
):
    settings.PIPELINE_MAX_BROKER_COUNTDOWN_SECONDS = 60
    nodes = [{"id": "a", "type": "memflaky", "config": {"fail_times": 1}, "queue": HELD_QUEUE}]
    run = new_run(
        nodes,
        runner=InlineRunner(),
        max_retries=2,
        retry_backoff_seconds=600,
        retry_backoff_max_seconds=600,
    )
    worker = CeleryRunner(task_id="t1", worker="w1")
    engine.process_node(run.run_id, "a", 1, worker)

    run.refresh_from_db()
    assert (run.current_node, run.current_attempt) == ("a", 2)
    assert run.dispatch_expires_at is None and run.dispatch_count == 0
    now = sql.db_clock().now()
    assert now + timedelta(seconds=290) < run.node_deadline < now + timedelta(seconds=610)
    assert queued(HELD_QUEUE) == []  # nothing sits in Redis for ten minutes
    assert engine.recover_stalled_runs(CeleryRunner()) == []  # not due yet

    stall(run)  # ten minutes later
    assert engine.recover_stalled_runs(CeleryRunner()) == [run.run_id]
    assert [task_args(m) for m in queued(HELD_QUEUE)] == [[run.run_id, "a", 2]]
    assert StageExecution.objects.get(run=run, attempt=1).status == StageStatus.RETRYING


def test_a_running_node_whose_holder_renews_its_lease_is_left_alone(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    from apps.orchestration.engine.claim import claim

    claim(run.run_id, "a", 1, InlineRunner(worker="alive"))
    stall(run)
    runner = InlineRunner()
    assert engine.recover_stalled_runs(runner) == []
    run.refresh_from_db()
    lease = StageExecution.objects.get(run=run).lease_expires_at
    assert run.node_deadline == lease  # looked at again when the lease would lapse
