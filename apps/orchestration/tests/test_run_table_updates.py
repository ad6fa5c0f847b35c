"""A node's move of its run is a HOT update on PostgreSQL: it writes no index entry.

Before migration 0007 the run table's (status, node_deadline) index changed its key on every
move, so every move wrote a new entry into each of the table's eight indexes.
"""

from __future__ import annotations

import pytest
from django.db import connection

from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineRun
from apps.orchestration.tests.helpers import new_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# What finish._schedule writes when it moves a run to its next node.
MOVED_COLUMNS = {
    "current_node",
    "current_attempt",
    "node_deadline",
    "dispatch_expires_at",
    "dispatch_count",
    "updated_at",
}


def _index_definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
            [PipelineRun._meta.db_table],
        )
        return dict(cursor.fetchall())


def test_no_index_of_the_run_table_names_a_column_a_move_changes() -> None:
    definitions = _index_definitions()
    assert "pipelinerun_open" in definitions
    for name, definition in definitions.items():
        named = {c for c in MOVED_COLUMNS if c in definition}
        assert not named, f"index {name} names {named}: every move would rewrite it"


def _update_counts(cursor) -> tuple[int, int]:
    """(updates, HOT updates) of the run table so far, this connection's included."""
    cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor.execute("SELECT pg_stat_clear_snapshot()")  # a new transaction: ours are flushed
    cursor.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
        [PipelineRun._meta.db_table],
    )
    return cursor.fetchone()


def test_moves_between_nodes_are_hot_updates() -> None:
    nodes = [{"id": f"n{i}", "type": "transform", "config": {}} for i in range(1, 6)]
    runner = InlineRunner()
    run = new_run(nodes, runner)
    with connection.cursor() as cursor:
        updated_before, hot_before = _update_counts(cursor)
        runner.drain()
        updated_after, hot_after = _update_counts(cursor)
    assert PipelineRun.objects.get(pk=run.pk).status == "completed"
    # Five nodes: the claim that starts the run and the last move (to completed) change the
    # status, which the partial index's condition names; the four moves between them change
    # only unindexed columns.
    updated, hot = updated_after - updated_before, hot_after - hot_before
    assert updated >= 6
    assert hot >= 4, f"{hot} of {updated} updates of the run were HOT"
