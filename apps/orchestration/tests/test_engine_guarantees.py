"""The engine's guarantees under forced interleavings, on real PostgreSQL.

Each test sets up the bad interleaving itself (a second claimer arriving at a chosen moment,
a crash between two statements, a clock that lies) instead of hoping a race happens; the
worker-level versions are in ``test_engine_workers_integration.py``.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from apps.orchestration import engine
from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import claim
from apps.orchestration.engine.finish import finish
from apps.orchestration.engine.heartbeat import heartbeat
from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus
from apps.orchestration.nodes import NodeResult
from apps.orchestration.tests.helpers import new_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def execution(run: PipelineRun, node_id: str, attempt: int = 1) -> StageExecution:
    return StageExecution.objects.get(idempotency_key=f"{run.run_id}:{node_id}:{attempt}")


def lapse(run: PipelineRun, node_id: str, attempt: int = 1) -> None:
    """Make the holder of the node look dead: its lease ended a second ago."""
    past = sql.db_clock().now() - timedelta(seconds=1)
    StageExecution.objects.filter(idempotency_key=f"{run.run_id}:{node_id}:{attempt}").update(
        lease_expires_at=past
    )


def runner(worker: str, task_id: str = "", token: str = "") -> InlineRunner:
    return InlineRunner(task_id=task_id or f"task-{worker}", worker=worker, claim_token=token)


# --- 1. a live lease is always respected ------------------------------------------------------


def test_a_redelivered_message_never_takes_a_live_lease(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    first = claim(run.run_id, "a", 1, runner("w1", task_id="t1"))
    assert first is not None

    # kombu's publish retry re-sends with the same task id; Redis redelivers after its
    # visibility timeout; recovery publishes a fresh message: none may take a live lease.
    assert claim(run.run_id, "a", 1, runner("w2", task_id="t1")) is None
    assert claim(run.run_id, "a", 1, runner("w3", task_id="t9")) is None

    row = execution(run, "a")
    assert (row.worker, row.claim_token, row.starts) == ("w1", first.token, 1)


def test_only_the_holders_own_retry_takes_back_a_live_claim(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    first = claim(run.run_id, "a", 1, runner("w1", task_id="t1"))
    assert claim(run.run_id, "a", 1, runner("w1", task_id="t1", token="someone-else")) is None

    again = claim(run.run_id, "a", 1, runner("w1", task_id="t1", token=first.token))
    assert again is not None and again.verdict is None
    row = execution(run, "a")
    assert row.claim_token == again.token != first.token
    assert row.starts == 1  # resuming its own start is not another start


def test_a_lapsed_lease_is_taken_over_by_exactly_one_claimer(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    claim(run.run_id, "a", 1, runner("dead"))
    lapse(run, "a")

    taker = claim(run.run_id, "a", 1, runner("w2"))
    assert taker is not None and taker.verdict is None
    # A second taker in the same moment finds the fresh lease and backs off.
    assert claim(run.run_id, "a", 1, runner("w3")) is None
    row = execution(run, "a")
    assert (row.worker, row.starts) == ("w2", 2)


# --- 2. a take-over never reopens a finished execution ---------------------------------------


def test_a_late_taker_cannot_reopen_a_finished_execution(test_node_types, monkeypatch):
    run = new_run([{"id": "a", "type": "sleep"}, {"id": "b", "type": "sleep"}])
    holder = claim(run.run_id, "a", 1, runner("slow-but-alive"))
    lapse(run, "a")  # the late taker will think the holder is dead

    real_take_over = sql.take_over

    def holder_finishes_first(*args: Any, **kwargs: Any):
        # The taker has read the row as RUNNING with a lapsed lease; before its UPDATE lands
        # the holder stores its result and moves the run on.
        finish(holder, NodeResult("a", "sleep", output={"by": "holder"}), InlineRunner())
        return real_take_over(*args, **kwargs)

    monkeypatch.setattr(sql, "take_over", holder_finishes_first)
    assert claim(run.run_id, "a", 1, runner("late-taker")) is None

    row = execution(run, "a")
    assert row.status == StageStatus.SUCCEEDED
    assert row.output_snapshot["output"] == {"by": "holder"}
    assert (row.worker, row.claim_token, row.starts) == ("slow-but-alive", "", 1)
    assert PipelineRun.objects.get(pk=run.pk).current_node == "b"


def test_storing_an_outcome_ends_the_claim(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    holder = claim(run.run_id, "a", 1, runner("w1"))
    finish(holder, NodeResult("a", "sleep"), InlineRunner())
    lapse(run, "a")
    # Even its own token cannot reopen it, and a second store with it lands nowhere.
    assert not sql.store_outcome(execution(run, "a"), ["status"], holder.token)
    assert execution(run, "a").claim_token == ""


# --- 3. RETRYING is final for claims ----------------------------------------------------------


def test_a_crash_between_storing_retrying_and_moving_the_run_does_not_rerun_the_attempt(
    test_node_types, monkeypatch
):
    calls = test_node_types
    run = new_run([{"id": "a", "type": "memflaky", "config": {"fail_times": 1}}], max_retries=2)
    real = sql.store_and_move
    crashes = []

    def crash_once(execution, fields, token, *args: Any, **kwargs: Any):
        if not crashes:  # the outcome lands, the run's move does not (SQLite's two statements)
            crashes.append(1)
            sql.store_outcome(execution, fields, token)
            raise OperationalError("the worker's connection dropped here")
        return real(execution, fields, token, *args, **kwargs)

    monkeypatch.setattr(sql, "store_and_move", crash_once)
    with pytest.raises(OperationalError):
        engine.process_node(run.run_id, "a", 1, runner("w1"))
    assert execution(run, "a").status == StageStatus.RETRYING

    # The redelivered attempt 1 only moves the run on; attempt 2 then succeeds.
    again = runner("w2")
    assert engine.process_node(run.run_id, "a", 1, again) is None
    assert [(s.node["id"], s.attempt) for s in again.pending] == [("a", 2)]
    assert calls[f"{run.run_id}:a"] == 1
    engine.process_node(run.run_id, "a", 2, again)
    assert calls[f"{run.run_id}:a"] == 2
    assert PipelineRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED


# --- 4. every failure is recorded; nothing loops ----------------------------------------------


def run_through(run: PipelineRun) -> PipelineRun:
    inline = InlineRunner()
    engine.process_node(run.run_id, run.current_node, 1, inline)
    while inline.pending:
        step = inline.pending.popleft()
        engine.process_node(step.run_id, step.node["id"], step.attempt, inline)
    return PipelineRun.objects.get(pk=run.pk)


def test_a_skip_rule_that_raises_fails_the_node_instead_of_looping(test_node_types):
    # A frozen config from before validation checked skip_if_condition: the test has no path.
    run = new_run([{"id": "a", "type": "sleep", "skip_if_condition": {"op": "eq", "value": 1}}])
    run = run_through(run)
    row = execution(run, "a")
    assert (row.status, row.error_type) == (StageStatus.FAILED, "KeyError")
    assert run.status == RunStatus.FAILED and "Node a failed" in run.error_message


@pytest.mark.parametrize(
    ("kind", "why"),
    [("set", "not JSON serializable"), ("nan", "Out of range float"), ("nul", "NUL character")],
)
def test_an_output_the_database_cannot_store_becomes_the_nodes_error(test_node_types, kind, why):
    run = run_through(new_run([{"id": "a", "type": "output", "config": {"kind": kind}}]))
    row = execution(run, "a")
    assert (row.status, row.error_type) == (StageStatus.FAILED, "OutputNotStorableError")
    assert why in row.error_message
    assert run.status == RunStatus.FAILED


@pytest.mark.django_db(transaction=True)  # a refused statement breaks an open transaction
def test_a_data_error_fails_the_node_without_retries(test_node_types):
    run = run_through(new_run([{"id": "a", "type": "dberror"}], max_retries=3))
    assert [r.status for r in StageExecution.objects.filter(run=run)] == [StageStatus.FAILED]
    assert execution(run, "a").error_type == "DataError"


def test_an_attempt_started_five_times_without_finishing_fails_saying_so(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}, {"id": "b", "type": "sleep"}])
    for i in range(1, 6):  # five workers take it, each dies with the lease held
        assert claim(run.run_id, "a", 1, runner(f"oom-{i}")) is not None
        lapse(run, "a")
    status = engine.process_node(run.run_id, "a", 1, runner("sixth"))

    assert status == StageStatus.FAILED
    row = execution(run, "a")
    assert row.error_type == "NodeAbandonedError"
    assert row.error_message == (
        "node a was started 5 times and never finished; last worker: oom-5"
    )
    assert test_node_types == {}  # the sixth start recorded the failure instead of running
    assert PipelineRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_an_abandoned_optional_node_lets_the_run_go_on(test_node_types, settings):
    settings.PIPELINE_NODE_MAX_STARTS = 1
    run = new_run([{"id": "a", "type": "sleep", "required": False}, {"id": "b", "type": "sleep"}])
    claim(run.run_id, "a", 1, runner("killed"))
    lapse(run, "a")
    run = run_through(run)
    assert execution(run, "a").status == StageStatus.FAILED
    assert (run.status, execution(run, "b").status) == (RunStatus.COMPLETED, "succeeded")


def test_a_node_taken_over_past_its_hard_limit_is_recorded_as_a_timeout(test_node_types):
    run = new_run([{"id": "a", "type": "sleep", "timeout_seconds": 1}], max_retries=0)
    claim(run.run_id, "a", 1, runner("stuck"))
    long_ago = sql.db_clock().now() - timedelta(seconds=120)
    StageExecution.objects.filter(run=run).update(started_at=long_ago, lease_expires_at=long_ago)
    engine.process_node(run.run_id, "a", 1, runner("w2"))
    row = execution(run, "a")
    assert (row.status, row.error_type) == (StageStatus.FAILED, "NodeTimeoutError")
    assert "did not finish within its timeout of 1s (its worker stuck stopped)" in (
        row.error_message
    )


def test_a_run_whose_node_vanished_from_its_config_fails_instead_of_looping(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}])
    PipelineRun.objects.filter(pk=run.pk).update(current_node="ghost")
    assert engine.process_node(run.run_id, "ghost", 1, runner("w1")) is None
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error_message.startswith("node ghost could not be started: KeyError")


# --- 8. clocks ----------------------------------------------------------------------------------


def test_leases_and_deadlines_use_the_database_clock(test_node_types, monkeypatch):
    db_now = sql.db_clock().now()
    skewed = db_now + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: skewed)  # this host's clock is an hour fast

    run = new_run([{"id": "a", "type": "sleep"}])
    held = claim(run.run_id, "a", 1, runner("w1"))
    lease = execution(run, "a").lease_expires_at
    assert db_now < lease < db_now + timedelta(minutes=2)
    deadline = PipelineRun.objects.get(pk=run.pk).node_deadline
    assert db_now < deadline < db_now + timedelta(minutes=5)
    # Recovery, also on the database clock, sees nothing stalled.
    assert engine.recover_stalled_runs(InlineRunner()) == []
    assert held is not None


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_keeps_a_slow_nodes_lease_past_its_length(test_node_types, settings):
    settings.PIPELINE_LEASE_SECONDS = 1.2
    run = new_run([{"id": "slow", "type": "sleep", "config": {"seconds": 4}}])
    before = heartbeat.renewals
    worker = threading.Thread(
        target=lambda: (
            engine.process_node(run.run_id, "slow", 1, runner("w1")),
            connection.close(),
        )
    )
    worker.start()
    try:
        refused = []
        for _ in range(6):  # well past the 1.2 s lease, another claimer keeps finding it held
            threading.Event().wait(0.5)
            refused.append(claim(run.run_id, "slow", 1, runner("w2")) is None)
    finally:
        worker.join(10)
    assert all(refused), refused
    assert heartbeat.renewals - before >= 2
    assert execution(run, "slow").status == StageStatus.SUCCEEDED
    assert execution(run, "slow").starts == 1


def test_claiming_the_entry_node_starts_the_run(test_node_types):
    run = new_run([{"id": "a", "type": "sleep"}, {"id": "b", "type": "sleep"}])
    assert PipelineRun.objects.get(pk=run.pk).status == RunStatus.PENDING
    held = claim(run.run_id, "a", 1, runner("w1"))
    stored = PipelineRun.objects.get(pk=run.pk)
    assert stored.status == RunStatus.RUNNING
    assert stored.started_at == execution(run, "a").started_at == held.execution.started_at
