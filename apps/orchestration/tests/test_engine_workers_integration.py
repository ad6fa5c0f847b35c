"""Engine guarantees on real Celery worker processes: duplicates of a running node, a node
that kills its worker every time, a node that ignores its soft time limit, failed nodes as
failed tasks in the event stream Flower reads."""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import Any

import pytest
import redis

from apps.orchestration import engine
from apps.orchestration.celery_runner import CeleryRunner
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import RunStatus, StageExecution, StageStatus
from apps.orchestration.tasks import run_node
from apps.orchestration.tests.helpers import definition, wait_for_run, wait_until
from tests.support.nodes import executions_key
from tests.support.services import redis_url
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST_LEASES = {"PIPELINE_LEASE_SECONDS": "1", "PIPELINE_HARD_LIMIT_MARGIN_SECONDS": "2"}


def executions(run_id: str, node_id: str) -> int:
    return int(redis.Redis.from_url(redis_url()).get(executions_key(run_id, node_id)) or 0)


def recover() -> None:
    engine.recover_stalled_runs(CeleryRunner())


@pytest.fixture
def engine_env(celery_on_test_redis, test_node_types, settings):
    # As the workers have them (FAST_LEASES, tests/support/worker.py): every process of a
    # deployment reads the same settings.
    settings.PIPELINE_LEASE_SECONDS = 1
    settings.PIPELINE_HARD_LIMIT_MARGIN_SECONDS = 2
    settings.PIPELINE_STALL_GRACE_SECONDS = 2
    return celery_on_test_redis


def test_a_duplicate_message_with_the_same_task_id_never_runs_a_live_node_twice(
    engine_env, tmp_path
):
    pipeline = definition(
        "duplicate-publish", [{"id": "slow", "type": "count", "config": {"seconds": 4}}]
    )
    with celery_worker(tmp_path, concurrency=2, extra_env=FAST_LEASES) as worker:
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        wait_until(lambda: executions(run.run_id, "slow") == 1, message="the slow node to run")
        row = StageExecution.objects.get(run=run)
        # What kombu's publish retry does when Redis took the first LPUSH but the reply was
        # lost: the same message (same task id) again, here while the node runs 3 s more,
        # past its 1 s lease (the heartbeat keeps it).
        run_node.apply_async(
            args=[run.run_id, "slow", 1], task_id=row.task_id, queue="nodes.default"
        )
        run = wait_for_run(run.run_id, timeout=30)
        log = worker.log()

    assert run.status == RunStatus.COMPLETED
    assert executions(run.run_id, "slow") == 1
    assert f"{run.run_id}:slow:1 is held by" in log
    assert StageExecution.objects.get(run=run).starts == 1


def test_a_node_that_kills_its_worker_every_time_fails_after_five_starts(engine_env, tmp_path):
    pipeline = definition(
        "oom-every-time",
        [{"id": "greedy", "type": "suicide", "required": False}, {"id": "after", "type": "count"}],
    )
    with celery_worker(tmp_path, extra_env=FAST_LEASES) as worker:
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        run = wait_for_run(run.run_id, timeout=120, poll=recover)
        name = worker.name.split("@")[0]

    greedy = StageExecution.objects.get(run=run, node_id="greedy")
    assert greedy.status == StageStatus.FAILED
    assert greedy.error_type == "NodeAbandonedError"
    assert greedy.error_message.startswith(
        "node greedy was started 5 times and never finished; last worker: " + name
    )
    assert executions(run.run_id, "greedy") == 5
    # Optional: the run went on past it.
    assert run.status == RunStatus.COMPLETED
    assert executions(run.run_id, "after") == 1


def test_a_node_that_ignores_its_soft_time_limit_is_recorded_as_timed_out(engine_env, tmp_path):
    pipeline = definition(
        "stubborn",
        [{"id": "stubborn", "type": "stubborn", "timeout_seconds": 1, "config": {"seconds": 60}}],
        max_retries=0,
    )
    with celery_worker(tmp_path, extra_env=FAST_LEASES) as worker:
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        run = wait_for_run(run.run_id, timeout=60, poll=recover)
        log = worker.log()

    row = StageExecution.objects.get(run=run)
    assert (row.status, row.error_type) == (StageStatus.FAILED, "NodeTimeoutError")
    assert "did not finish within its timeout of 1s" in row.error_message
    assert executions(run.run_id, "stubborn") == 1  # killed once, never started again
    assert "Hard time limit (3" in log  # the pool killed it; nothing else took it over live
    assert run.status == RunStatus.FAILED


def test_a_failed_node_is_a_failed_task_in_the_event_stream_without_a_traceback(
    engine_env, tmp_path
):
    pipeline = definition("fails", [{"id": "bad", "type": "failing"}])
    events: list[dict[str, Any]] = []
    app = engine_env

    def listen(stop: threading.Event) -> None:
        with app.connection_for_read() as conn:
            receiver = app.events.Receiver(conn, handlers={"*": events.append})
            for _ in receiver.itercapture(limit=None, timeout=0.5, wakeup=True):
                if stop.is_set():
                    return

    stop = threading.Event()
    listener = threading.Thread(target=lambda: _quietly(listen, stop), daemon=True)
    listener.start()
    with celery_worker(tmp_path, extra_args=["-E"]) as worker:
        run = DefinitionBasedOrchestrator(pipeline).start(source="test")
        run = wait_for_run(run.run_id, timeout=30)
        task_id = StageExecution.objects.get(run=run).task_id
        wait_until(
            lambda: any(e.get("uuid") == task_id and e["type"] == "task-failed" for e in events),
            timeout=20,
            message="a task-failed event",
        )
        log = worker.log()
    stop.set()

    failed = next(e for e in events if e.get("uuid") == task_id and e["type"] == "task-failed")
    assert "NodeFailedError" in failed["exception"]
    assert "raised expected: NodeFailedError" in log
    assert "Traceback" not in log
    assert run.status == RunStatus.FAILED


def _quietly(fn: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            fn(stop)
        except OSError:
            continue  # the capture times out between events; listen again


ENGINE = Path(__file__).resolve().parents[1] / "engine"
OUTSIDE_THE_ENGINE = {
    "apps.orchestration.dispatch",
    "apps.orchestration.tasks",
    "apps.orchestration.celery_runner",
    "apps.orchestration.inprocess",
    "apps.orchestration.definition_orchestrator",
    "celery.app",
    "workers",
}


def test_the_engine_imports_no_runner_and_no_task_module():
    for module in ENGINE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not any(
                    name == banned or name.startswith(banned + ".") for banned in OUTSIDE_THE_ENGINE
                ), f"{module.name} imports {name}"


def test_nodes_run_on_a_thread_pool_worker_as_on_prefork(engine_env, tmp_path):
    pipeline = definition(
        "threads",
        [{"id": "a", "type": "count", "config": {"seconds": 0.3}}, {"id": "b", "type": "count"}],
    )
    with celery_worker(tmp_path, pool="threads", concurrency=8):
        runs = [DefinitionBasedOrchestrator(pipeline).start(source="test") for _ in range(8)]
        runs = [wait_for_run(r.run_id, timeout=60) for r in runs]
    assert {r.status for r in runs} == {RunStatus.COMPLETED}
    for run in runs:
        assert [executions(run.run_id, n) for n in ("a", "b")] == [1, 1]
    rows = StageExecution.objects.filter(run__in=runs)
    assert len({r.task_id for r in rows}) == 16
