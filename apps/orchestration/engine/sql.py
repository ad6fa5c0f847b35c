"""The engine's hot-path statements, written out once instead of built by the ORM per node.

Every node execution runs these four or five statements; building them with the ORM cost more
CPU than the database spent answering them (bench/engine.py). The SQL is plain enough for
both PostgreSQL and SQLite (``ON CONFLICT ... DO NOTHING`` and ``RETURNING`` need SQLite 3.35,
which Python 3.11 ships). Values go through the model fields' own adapters, and rows come
back as model instances, so callers see the same objects the ORM would give them.

Statements are assembled only from model metadata (names quoted by the backend) and
placeholders; no value is ever formatted into SQL (hence the S608 waivers).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.orchestration.models import (
    OPEN_RUN_STATUSES,
    RESULT_STAGE_STATUSES,
    PipelineRun,
    StageExecution,
    StageStatus,
)
from project import rows
from project.fastcursor import fast_cursor

RUN_STATE_FIELDS = (
    "id",
    "run_id",
    "trace_id",
    "status",
    "config",
    "payload",
    "incident_id",
    "source",
    "environment",
    "current_node",
    "current_attempt",
    "created_at",
    "definition_id",
    "definition_name",
)


@dataclass(frozen=True)
class Clock:
    """The database's time, read once and advanced by this host's monotonic clock.

    Hosts disagree about the time; the database is the one clock every worker shares, so
    leases and deadlines are computed from it. Reading it rides on a query the engine makes
    anyway (``load_run``); the monotonic offset keeps it current for the node's duration.
    """

    base: datetime
    mono: float

    @classmethod
    def starting_at(cls, base: datetime) -> Clock:
        return cls(base, time.monotonic())

    @classmethod
    def local(cls) -> Clock:
        return cls(timezone.now(), time.monotonic())

    def now(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.mono)


# The engine's statements go through a server-side-binding cursor (prepared after a few runs).
cursor = fast_cursor


# A CTE that turns ``synchronous_commit`` off until the statement's own transaction ends
# (``set_config(..., true)``): the claim and a recomputable node's outcome commit without
# waiting for their WAL flush. Volatile, so PostgreSQL runs it wherever it is referenced.
ASYNC_COMMIT_CTE = "c AS (SELECT set_config('synchronous_commit', 'off', true))"


def may_commit_async() -> bool:
    """Whether a statement may use ``ASYNC_COMMIT_CTE``: only when it is its own transaction
    (autocommit). Inside an enclosing transaction the setting would cover everything else
    committed there, so it is left alone."""
    return not connection.in_atomic_block


# Quoted names (once per name): the engine's modules import them from here.
_q = rows.q
_column = rows.column


def _prep(model: Any, field: str, value: Any) -> Any:
    return rows.param(model, field, value)


def _from_db(f: Any, value: Any) -> Any:
    """A column value as the ORM would return it (JSON decoded, SQLite datetimes parsed)."""
    return rows.convert(f.model, f.name, value)


def _run_state_fields() -> list[Any]:
    # Model.from_db wants values in concrete-field order, whatever order we name them in.
    return [f for f in PipelineRun._meta.concrete_fields if f.attname in RUN_STATE_FIELDS]


@functools.cache
def _select_run_sql(vendor: str) -> str:
    columns = ", ".join(f"r.{_q(f.column)}" for f in _run_state_fields())
    if vendor == "postgresql":
        # The database's clock comes back with the row: leases and deadlines are computed
        # from it, never from the clock of whichever host runs this worker. So do the
        # earlier nodes' results, which the node needs: one round trip instead of two.
        t = StageExecution
        statuses = ", ".join(["%s"] * len(RESULT_STAGE_STATUSES))
        columns += (
            ", statement_timestamp(), "  # noqa: S608
            f"(SELECT json_object_agg({_column(t, 'node_id')}, {_column(t, 'output_snapshot')} "
            f"ORDER BY {_column(t, 'id')}) FROM {_q(t._meta.db_table)} "
            f"WHERE {_column(t, 'run')} = r.{_column(PipelineRun, 'id')} "
            f"AND {_column(t, 'status')} IN ({statuses}))"
        )
    return (
        f"SELECT {columns} FROM {_q(PipelineRun._meta.db_table)} r "  # noqa: S608
        f"WHERE r.{_column(PipelineRun, 'run_id')} = %s"
    )


@dataclass
class LoadedRun:
    run: PipelineRun
    clock: Clock
    # Every finished node's stored result by node id, when the database could give them
    # with the run (PostgreSQL); None: ask ``finished_results``.
    results: dict[str, dict[str, Any]] | None


def load_run(run_id: str) -> LoadedRun | None:
    """The run's state (``RUN_STATE_FIELDS`` only), the database clock and (on PostgreSQL)
    the earlier nodes' results, or None when the run does not exist."""
    postgres = connection.vendor == "postgresql"
    params = [*(s.value for s in RESULT_STAGE_STATUSES), run_id] if postgres else [run_id]
    with cursor() as cur:
        cur.execute(_select_run_sql(connection.vendor), params)
        row = cur.fetchone()
    if row is None:
        return None
    run = run_from_row(row)
    if not postgres:
        return LoadedRun(run, Clock.local(), None)
    return LoadedRun(run, Clock.starting_at(row[-2]), results_from(row[-1]))


def run_from_row(row: Any) -> PipelineRun:
    """The run from a row that starts with ``_run_state_fields()``'s columns, in order."""
    fields = _run_state_fields()
    values = [_from_db(f, v) for f, v in zip(fields, row, strict=False)]
    return PipelineRun.from_db(connection.alias, [f.attname for f in fields], values)


def results_from(value: Any) -> dict[str, dict[str, Any]]:
    """Earlier nodes' results as ``json_object_agg`` gives them (None: there are none)."""
    if isinstance(value, str):  # json text, when no loader parsed it
        value = json.loads(value)
    return value or {}


def db_clock() -> Clock:
    """The database's clock (one round trip on PostgreSQL; SQLite shares this host's)."""
    if connection.vendor != "postgresql":
        return Clock.local()
    with cursor() as cur:
        cur.execute("SELECT statement_timestamp()")
        return Clock.starting_at(cur.fetchone()[0])


_EXECUTION_INSERT_FIELDS = (
    "run",
    "node_id",
    "node_type",
    "attempt",
    "idempotency_key",
    "status",
    "task_id",
    "worker",
    "claim_token",
    "lease_expires_at",
    "output_snapshot",
    "error_type",
    "error_message",
    "error_retryable",
    "created_at",
    "started_at",
    "starts",
)


@functools.cache
def _insert_execution_sql(vendor: str) -> str:
    columns = ", ".join(_column(StageExecution, f) for f in _EXECUTION_INSERT_FIELDS)
    marks = ", ".join(["%s"] * len(_EXECUTION_INSERT_FIELDS))
    key = _column(StageExecution, "idempotency_key")
    return (
        f"INSERT INTO {_q(StageExecution._meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO NOTHING RETURNING {_column(StageExecution, 'id')}"
    )


@functools.cache
def _insert_execution_starting_run_sql() -> str:
    run = PipelineRun
    return (
        f"WITH ins AS ({_insert_execution_sql('postgresql')}), "  # noqa: S608
        f"started AS (UPDATE {_q(run._meta.db_table)} SET {_column(run, 'status')} = %s, "
        f"{_column(run, 'started_at')} = %s, {_column(run, 'updated_at')} = %s "
        f"WHERE {_column(run, 'id')} = %s AND {_column(run, 'status')} = %s "
        "AND EXISTS (SELECT 1 FROM ins)) SELECT id FROM ins"
    )


def starts_run_inline() -> bool:
    """Whether ``insert_execution(start_run=True)`` also marks the run running."""
    return connection.vendor == "postgresql"


def insert_execution(execution: StageExecution, *, start_run: bool = False) -> bool:
    """INSERT unless the idempotency key exists; sets ``execution.pk`` when it inserted.

    ``ON CONFLICT DO NOTHING`` instead of catching IntegrityError: no savepoint, and an
    outer transaction is never broken by a duplicate. ``start_run``: the run is pending (its
    entry node): mark it running in the same statement on PostgreSQL.
    """
    execution.created_at = execution.started_at
    params = []
    for field in _EXECUTION_INSERT_FIELDS:
        attname = StageExecution._meta.get_field(field).attname
        params.append(_prep(StageExecution, field, getattr(execution, attname)))
    if start_run and connection.vendor == "postgresql":
        started = _prep(PipelineRun, "started_at", execution.started_at)
        sql = _insert_execution_starting_run_sql()
        params += ["running", started, started, execution.run_id, "pending"]
    else:
        sql = _insert_execution_sql(connection.vendor)
    with cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return False
    execution.pk = row[0]
    execution._state.adding = False
    execution._state.db = connection.alias
    return True


@functools.cache
def _outputs_sql(vendor: str) -> str:
    statuses = ", ".join(["%s"] * len(RESULT_STAGE_STATUSES))
    return (
        f"SELECT {_column(StageExecution, 'node_id')}, "  # noqa: S608
        f"{_column(StageExecution, 'output_snapshot')} "
        f"FROM {_q(StageExecution._meta.db_table)} "
        f"WHERE {_column(StageExecution, 'run')} = %s "
        f"AND {_column(StageExecution, 'status')} IN ({statuses}) "
        f"ORDER BY {_column(StageExecution, 'id')}"
    )


def finished_results(run_pk: int) -> dict[str, dict[str, Any]]:
    """The stored result of every finished node of the run, by node id."""
    with cursor() as cur:
        cur.execute(_outputs_sql(connection.vendor), [run_pk, *RESULT_STAGE_STATUSES])
        found = cur.fetchall()
    field = StageExecution._meta.get_field("output_snapshot")
    return {node_id: _from_db(field, snapshot) for node_id, snapshot in found}


def _update(model: Any, changes: dict[str, Any], where: str, where_params: Iterable[Any]) -> int:
    sets = [f"{_column(model, field)} = %s" for field in changes]
    params = [_prep(model, field, value) for field, value in changes.items()]
    sql = f"UPDATE {_q(model._meta.db_table)} SET {', '.join(sets)} WHERE {where}"  # noqa: S608
    with cursor() as cur:
        cur.execute(sql, [*params, *where_params])
        return cur.rowcount


def take_over(
    key: str, changes: dict[str, Any], now: datetime, own_token: str
) -> tuple[int, int] | None:
    """Take the RUNNING execution ``key`` if its lease lapsed (its holder is dead) or it is
    ``own_token``'s (our own task retried); returns (id, starts) when we got it.

    One conditional statement: of two takers only one matches, a live lease is never taken,
    and a finished execution (any status but running) is never reopened.
    """
    t = StageExecution
    sets = [f"{_column(t, field)} = %s" for field in changes]
    params = [_prep(t, field, value) for field, value in changes.items()]
    starts = _column(t, "starts")
    token = _column(t, "claim_token")
    # Our own task's retry (after a database error) resumes its start; anyone else's is one more.
    sets.append(f"{starts} = {starts} + CASE WHEN {token} = %s THEN 0 ELSE 1 END")
    params.append(own_token)
    where = (
        f"{_column(t, 'idempotency_key')} = %s AND {_column(t, 'status')} = %s "
        f"AND ({_column(t, 'lease_expires_at')} < %s OR ({token} = %s AND {token} <> ''))"
    )
    params += [key, StageStatus.RUNNING.value, _prep(t, "lease_expires_at", now), own_token]
    sql = (
        f"UPDATE {_q(t._meta.db_table)} SET {', '.join(sets)} WHERE {where} "  # noqa: S608
        f"RETURNING {_column(t, 'id')}, {starts}"
    )
    with cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return (row[0], row[1]) if row else None


def renew_lease(execution_id: int, token: str, seconds: float) -> bool:
    """Push the lease ``seconds`` past the database's now, if ``token`` still holds it."""
    t = StageExecution
    if connection.vendor == "postgresql":
        lease, lease_params = "statement_timestamp() + %s * interval '1 second'", [seconds]
    else:
        lease = "%s"
        lease_params = [_prep(t, "lease_expires_at", timezone.now() + timedelta(seconds=seconds))]
    sql = (
        f"UPDATE {_q(t._meta.db_table)} SET {_column(t, 'lease_expires_at')} = {lease} "  # noqa: S608
        f"WHERE {_column(t, 'id')} = %s AND {_column(t, 'claim_token')} = %s "
        f"AND {_column(t, 'status')} = %s"
    )
    with cursor() as cur:
        cur.execute(sql, [*lease_params, execution_id, token, StageStatus.RUNNING.value])
        return cur.rowcount == 1


def store_outcome(execution: StageExecution, fields: Iterable[str], token: str) -> bool:
    """Write ``fields`` of the execution if ``token`` still holds its claim, and end the
    claim (the token is cleared): nobody can take the execution over afterwards."""
    where = (
        f"{_column(StageExecution, 'id')} = %s AND {_column(StageExecution, 'claim_token')} = %s "
        f"AND {_column(StageExecution, 'status')} = %s"
    )
    changes = {f: getattr(execution, f) for f in fields}
    changes["claim_token"] = ""
    params = [execution.pk, token, StageStatus.RUNNING.value]
    stored = _update(StageExecution, changes, where, params) == 1
    if stored:
        execution.claim_token = ""
    return stored


def _sets(model: Any, changes: dict[str, Any]) -> tuple[str, list[Any]]:
    sets = ", ".join(f"{_column(model, field)} = %s" for field in changes)
    return sets, [_prep(model, field, value) for field, value in changes.items()]


def store_and_move(
    execution: StageExecution,
    fields: Iterable[str],
    token: str,
    run_pk: int,
    node_id: str,
    attempt: int,
    changes: dict[str, Any],
    durable: bool = True,
) -> tuple[bool, bool]:
    """``store_outcome`` then, only if it landed, ``move_run``: (stored, moved).

    On PostgreSQL both are one statement (two data-modifying CTEs, the second conditional on
    the first), so a node costs one round trip less and the pair is atomic. ``durable=False``
    commits it without waiting for the WAL flush (``synchronous_commit`` off for that one
    statement's transaction, as the claim does), when ``may_commit_async()``.
    """
    if connection.vendor != "postgresql":
        if not store_outcome(execution, fields, token):
            return False, False
        return True, move_run(run_pk, node_id, attempt, changes)
    se, run = StageExecution, PipelineRun
    outcome = {f: getattr(execution, f) for f in fields} | {"claim_token": ""}
    se_sets, se_params = _sets(se, outcome)
    run_sets, run_params = _sets(run, changes)
    head, cond = "WITH ", ""
    if not durable and may_commit_async():
        head, cond = f"WITH {ASYNC_COMMIT_CTE}, ", " AND EXISTS (SELECT 1 FROM c)"
    sql = (
        f"{head}stored AS (UPDATE {_q(se._meta.db_table)} SET {se_sets} "  # noqa: S608
        f"WHERE {_column(se, 'id')} = %s AND {_column(se, 'claim_token')} = %s "
        f"AND {_column(se, 'status')} = %s{cond} RETURNING 1), "
        f"moved AS (UPDATE {_q(run._meta.db_table)} SET {run_sets} "
        f"WHERE {_column(run, 'id')} = %s AND {_column(run, 'current_node')} = %s "
        f"AND {_column(run, 'current_attempt')} = %s AND {_column(run, 'status')} IN (%s, %s) "
        "AND EXISTS (SELECT 1 FROM stored) RETURNING 1) "
        "SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM moved)"
    )
    params = [
        *se_params,
        execution.pk,
        token,
        StageStatus.RUNNING.value,
        *run_params,
        run_pk,
        node_id,
        attempt,
        *(s.value for s in OPEN_RUN_STATUSES),
    ]
    with cursor() as cur:
        cur.execute(sql, params)
        stored, moved = cur.fetchone()
    if stored:
        execution.claim_token = ""
    return bool(stored), bool(moved)


def move_run(run_pk: int, node_id: str, attempt: int, changes: dict[str, Any]) -> bool:
    """Apply ``changes`` if the run still stands at ``node_id``/``attempt`` and is open."""
    where = (
        f"{_column(PipelineRun, 'id')} = %s AND {_column(PipelineRun, 'current_node')} = %s "
        f"AND {_column(PipelineRun, 'current_attempt')} = %s "
        f"AND {_column(PipelineRun, 'status')} IN (%s, %s)"
    )
    params = [run_pk, node_id, attempt, *(s.value for s in OPEN_RUN_STATUSES)]
    return _update(PipelineRun, changes, where, params) == 1
