"""A recomputable node's outcome commits without waiting for the WAL flush; every other
outcome, and the end of every run, waits for it.

docs/architecture.md ("Durability of a node's outcome") says why losing such an outcome to
a crash of PostgreSQL loses nothing. These run on PostgreSQL (integration): WAL positions
and ``synchronous_commit`` are its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction

from apps.orchestration import engine
from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import claim
from apps.orchestration.engine.finish import Plan, _durable, finish
from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus
from apps.orchestration.nodes import NodeResult, is_recomputable
from apps.orchestration.tests.helpers import new_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRANSFORM = {"type": "transform", "config": {}}


def _one(statement: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def _store_and_read_wal(nodes: list[dict], node_id: str) -> tuple[bool, str]:
    """Claim ``node_id``, flush every WAL record so far, store a successful outcome, and say
    whether that outcome's commit waited for its WAL (the flush position passed where the
    WAL ended before it) and which way the run went."""
    run = new_run(nodes)
    held = claim(run.run_id, node_id, 1, InlineRunner(worker="w1"))
    assert held is not None
    # A synchronous commit that writes WAL flushes everything before it, the claim's too.
    PipelineRun.objects.filter(pk=run.pk).update(environment="production")
    before = _one("SELECT pg_current_wal_insert_lsn()::text")
    node = held.node
    finish(held, NodeResult(node_id, node["type"], output={"ok": True}), InlineRunner())
    waited = _one("SELECT pg_current_wal_flush_lsn() > %s::pg_lsn", [before])
    return waited, PipelineRun.objects.get(pk=run.pk).status


def test_a_recomputable_nodes_outcome_does_not_wait_for_its_wal() -> None:
    """The WAL writer flushes within wal_writer_delay, and may do so in the instant between
    the store and the check: one store of several must show it."""
    waited = []
    for _ in range(5):
        flushed, status = _store_and_read_wal(
            [{"id": "a", **TRANSFORM}, {"id": "b", **TRANSFORM}], "a"
        )
        assert status == RunStatus.RUNNING  # the run went on to b
        waited.append(flushed)
        if not flushed:
            break
    assert not all(waited), "every recomputable outcome waited for its WAL flush"


def test_the_end_of_a_run_waits_for_its_wal_even_after_a_recomputable_node() -> None:
    for _ in range(3):
        waited, status = _store_and_read_wal([{"id": "a", **TRANSFORM}], "a")
        assert status == RunStatus.COMPLETED
        assert waited, "the run's end was committed without its WAL flush"


def test_an_outcome_with_effects_waits_for_its_wal() -> None:
    nodes = [
        {"id": "n", "type": "notify", "config": {"drivers": []}},
        {"id": "b", **TRANSFORM},
    ]
    assert not is_recomputable("notify")
    for _ in range(3):
        waited, status = _store_and_read_wal(nodes, "n")
        assert status == RunStatus.RUNNING
        assert waited, "a notify node's outcome was committed without its WAL flush"


def test_the_connection_is_synchronous_again_after_a_relaxed_outcome() -> None:
    _store_and_read_wal([{"id": "a", **TRANSFORM}, {"id": "b", **TRANSFORM}], "a")
    assert _one("SHOW synchronous_commit") == "on"


def test_inside_a_transaction_the_outcome_leaves_the_setting_alone() -> None:
    """In a transaction the setting would cover everything else committed with it."""
    run = new_run([{"id": "a", **TRANSFORM}, {"id": "b", **TRANSFORM}])
    held = claim(run.run_id, "a", 1, InlineRunner(worker="w1"))
    assert held is not None
    with transaction.atomic():
        finish(held, NodeResult("a", "transform", output={}), InlineRunner())
        assert _one("SHOW synchronous_commit") == "on"
    assert PipelineRun.objects.get(pk=run.pk).current_node == "b"


def test_only_the_built_in_pure_node_types_are_recomputable() -> None:
    types = ("ingest", "context", "intelligence", "transform", "condition", "notify", "unknown")
    assert [t for t in types if is_recomputable(t)] == ["transform", "condition"]


def test_the_durability_decision() -> None:
    run = new_run([{"id": "a", **TRANSFORM}, {"id": "b", **TRANSFORM}])
    held = claim(run.run_id, "a", 1, InlineRunner(worker="w1"))
    assert held is not None
    goes_on = Plan({"current_node": "b"})
    ends = Plan({"status": RunStatus.COMPLETED})
    assert _durable(held, goes_on) is False
    assert _durable(held, ends) is True
    held.node = {**held.node, "type": "notify"}
    assert _durable(held, goes_on) is True


def test_a_recomputable_node_taken_over_long_after_its_start_is_run_again() -> None:
    """Its outcome may have been lost with PostgreSQL while its claim survived: the take-over
    runs it again instead of recording the timeout a vanished holder of any other node gets
    (test_engine_guarantees: ..._past_its_hard_limit_is_recorded_as_a_timeout)."""
    run = new_run([{"id": "a", **TRANSFORM, "timeout_seconds": 1}], max_retries=0)
    claim(run.run_id, "a", 1, InlineRunner(worker="lost-with-the-database"))
    long_ago = sql.db_clock().now() - timedelta(seconds=120)
    StageExecution.objects.filter(run=run).update(started_at=long_ago, lease_expires_at=long_ago)

    status = engine.process_node(run.run_id, "a", 1, InlineRunner(worker="w2"))

    assert status == StageStatus.SUCCEEDED
    row = StageExecution.objects.get(run=run)
    assert (row.status, row.starts, row.worker) == (StageStatus.SUCCEEDED, 2, "w2")
    assert PipelineRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED
