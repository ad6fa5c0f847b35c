"""The engine on real Celery workers, real Redis and real PostgreSQL."""

from __future__ import annotations

import pytest
import redis

from apps.orchestration import engine
from apps.orchestration.celery_runner import CeleryRunner
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import RunStatus, StageExecution, StageStatus
from apps.orchestration.tests.helpers import definition, wait_for_run, wait_until
from tests.support.nodes import executions_key
from tests.support.services import redis_url
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def executions(run_id: str, node_id: str) -> int:
    return int(redis.Redis.from_url(redis_url()).get(executions_key(run_id, node_id)) or 0)


@pytest.fixture
def engine_env(celery_on_test_redis, test_node_types):
    return celery_on_test_redis


def test_each_node_runs_as_its_own_task_following_next(engine_env, tmp_path):
    pipeline = definition(
        "three-tasks",
        [
            {"id": "first", "type": "count", "next": "second"},
            {"id": "third", "type": "count", "next": None},
            {"id": "second", "type": "count", "next": "third"},
        ],
    )
    with celery_worker(tmp_path):
        run = DefinitionBasedOrchestrator(pipeline).start(payload={"a": 1}, source="test")
        run = wait_for_run(run.run_id)

    assert run.status == RunStatus.COMPLETED
    rows = list(StageExecution.objects.filter(run=run).order_by("id"))
    assert [r.node_id for r in rows] == ["first", "second", "third"]
    assert all(r.status == StageStatus.SUCCEEDED for r in rows)
    task_ids = {r.task_id for r in rows}
    assert len(task_ids) == 3 and "" not in task_ids
    assert all(r.worker.startswith("test-") for r in rows)


def test_a_retryable_node_error_is_retried_with_backoff(engine_env, tmp_path):
    pipeline = definition(
        "flaky",
        [{"id": "shaky", "type": "flaky", "config": {"fail_times": 2}}],
        max_retries=3,
        retry_backoff_seconds=1.0,
    )
    with celery_worker(tmp_path):
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        run = wait_for_run(run.run_id)

    assert run.status == RunStatus.COMPLETED
    attempts = list(StageExecution.objects.filter(run=run).order_by("attempt"))
    assert [(a.attempt, a.status) for a in attempts] == [
        (1, StageStatus.RETRYING),
        (2, StageStatus.RETRYING),
        (3, StageStatus.SUCCEEDED),
    ]
    assert all(a.error_retryable for a in attempts[:2])
    # Backoff: full jitter in [base/2, base] before attempt 2, [base, 2*base] before attempt 3.
    gap_1 = (attempts[1].started_at - attempts[0].completed_at).total_seconds()
    gap_2 = (attempts[2].started_at - attempts[1].completed_at).total_seconds()
    assert gap_1 >= 0.45, gap_1
    assert gap_2 >= 0.95, gap_2
    assert executions(run.run_id, "shaky") == 3


def test_retries_stop_at_max_retries_and_fail_a_required_node(engine_env, tmp_path):
    pipeline = definition(
        "hopeless",
        [
            {"id": "shaky", "type": "flaky", "config": {"fail_times": 10}},
            {"id": "after", "type": "count"},
        ],
        max_retries=1,
        retry_backoff_seconds=0.1,
    )
    with celery_worker(tmp_path):
        run = wait_for_run(DefinitionBasedOrchestrator(pipeline).start(source="t").run_id)

    assert run.status == RunStatus.FAILED
    assert "Node shaky failed" in run.error_message
    assert executions(run.run_id, "shaky") == 2
    assert executions(run.run_id, "after") == 0


def test_a_killed_worker_loses_no_run_and_repeats_no_finished_node(engine_env, tmp_path):
    pipeline = definition(
        "survives-kill",
        [
            {"id": "before", "type": "count"},
            {"id": "slow", "type": "count", "config": {"seconds": 6}, "timeout_seconds": 8},
            {"id": "after", "type": "count"},
        ],
    )
    with celery_worker(tmp_path) as doomed:
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        wait_until(
            lambda: StageExecution.objects.filter(
                run=run, node_id="slow", status=StageStatus.RUNNING
            ).exists(),
            message="the slow node to start",
        )
        doomed.kill_hard()

    with celery_worker(tmp_path):
        # Beat would call this every 30 s; here we call it as often as the test can wait.
        run = wait_for_run(
            run.run_id, timeout=90, poll=lambda: engine.recover_stalled_runs(CeleryRunner())
        )

    assert run.status == RunStatus.COMPLETED
    assert executions(run.run_id, "before") == 1
    assert StageExecution.objects.filter(run=run, node_id="before").count() == 1
    assert executions(run.run_id, "slow") == 2  # killed once, then completed
    assert executions(run.run_id, "after") == 1
    slow = StageExecution.objects.get(run=run, node_id="slow")
    assert slow.status == StageStatus.SUCCEEDED


def test_flushed_broker_queues_are_recovered_by_the_recovery_task(engine_env, tmp_path):
    pipeline = definition(
        "survives-flush",
        [
            {"id": "first", "type": "count"},
            # Routed to a queue nobody consumes yet, so its message sits in Redis.
            {"id": "held", "type": "count", "queue": "held-for-test"},
            {"id": "last", "type": "count"},
        ],
    )
    with celery_worker(tmp_path, queues="nodes.default"):
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        wait_until(
            lambda: redis.Redis.from_url(redis_url()).llen("held-for-test") == 1,
            message="the held node's message to be queued",
        )
        assert executions(run.run_id, "first") == 1
    redis.Redis.from_url(redis_url()).flushdb()  # the broker forgets everything (and counts)

    recovered: list[str] = []
    with celery_worker(tmp_path, queues="nodes.default,held-for-test"):
        run = wait_for_run(
            run.run_id,
            timeout=60,
            poll=lambda: recovered.extend(engine.recover_stalled_runs(CeleryRunner())),
        )

    assert run.status == RunStatus.COMPLETED
    assert [executions(run.run_id, n) for n in ("first", "held", "last")] == [0, 1, 1]
    assert StageExecution.objects.filter(run=run, node_id="first").count() == 1
    assert recovered == [run.run_id]  # the lost step was published again, once


def test_run_pipeline_async_wait_follows_the_run_on_the_workers(engine_env, tmp_path):
    import io
    import json

    from django.core.management import call_command

    definition("cli-async", [{"id": "one", "type": "count"}, {"id": "two", "type": "count"}])
    out, err = io.StringIO(), io.StringIO()
    with celery_worker(tmp_path):
        call_command(
            "run_pipeline", "--definition", "cli-async", "--async", "--wait", "--json",
            stdout=out, stderr=err,
        )  # fmt: skip
    result = json.loads(out.getvalue())
    assert result["status"] == "completed"
    assert result["executed_nodes"] == ["one", "two"]
    assert result["node_results"]["one"]["task_id"] != result["node_results"]["two"]["task_id"]
    progress = err.getvalue()
    assert "[count] one attempt 1: succeeded on test-" in progress
    assert "[count] two attempt 1: succeeded" in progress
