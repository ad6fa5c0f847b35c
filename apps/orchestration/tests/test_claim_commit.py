"""The claim's commit does not wait for the WAL flush, and nothing else loses that wait.

See ``apps/orchestration/engine/sql_claim.py`` for why a claim may commit asynchronously.
These run on PostgreSQL (integration): WAL positions and ``synchronous_commit`` are its own.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction

from apps.orchestration.engine import sql_claim
from apps.orchestration.tests.helpers import new_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NODES = [{"id": "first", "type": "transform", "config": {}}]


def _request(run_id: str) -> sql_claim.ClaimRequest:
    return sql_claim.ClaimRequest(run_id, "first", 1, str(uuid.uuid4()), "t", "w", 30.0)


def _claim(run_id: str) -> int | None:
    found = sql_claim.load_and_claim(_request(run_id))
    assert found is not None
    return found[1]


def _one(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_a_claim_commits_before_its_wal_is_flushed() -> None:
    """Right after a synchronous commit the WAL is flushed up to its end; after the claim it
    is not (the WAL writer flushes it within wal_writer_delay). The writer may flush in the
    instant between, so one claim of several must show it."""
    unflushed = []
    for _ in range(5):
        run = new_run(NODES)
        assert _claim(run.run_id) is not None
        unflushed.append(_one("SELECT pg_current_wal_insert_lsn() > pg_current_wal_flush_lsn()"))
        if unflushed[-1]:
            break
    assert any(unflushed), "every claim waited for its WAL flush"


def test_the_setting_ends_with_the_claims_own_transaction() -> None:
    run = new_run(NODES)
    assert _claim(run.run_id) is not None
    # The connection's next commits (the node's outcome among them) stay synchronous.
    assert _one("SHOW synchronous_commit") == "on"


def test_inside_a_transaction_the_claim_leaves_the_setting_alone() -> None:
    """In a transaction the setting would cover everything else committed with the claim."""
    run = new_run(NODES)
    with transaction.atomic():
        assert _claim(run.run_id) is not None
        assert _one("SHOW synchronous_commit") == "on"


def test_the_relaxed_statement_does_turn_it_off_for_its_transaction() -> None:
    """What the autocommit path relies on, seen from inside a transaction (the same statement
    run by hand): the setting is off until that transaction ends, then on again."""
    run = new_run(NODES)
    params = _request(run.run_id).params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql_claim._claim_sql(async_commit=True), params)
        assert cursor.fetchone()[-1] is not None  # the execution was inserted
        assert _one("SHOW synchronous_commit") == "off"
    assert _one("SHOW synchronous_commit") == "on"
