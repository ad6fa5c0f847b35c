"""A node's claim in one statement on PostgreSQL: load the run, insert the execution, start
the run.

What ``sql.load_run`` and ``sql.insert_execution`` do in two round trips, done in one: a
data-modifying CTE reads the run (with the database clock and the earlier nodes' results),
inserts the execution only if the run stands open at this node and attempt and nobody holds
the key yet, and marks a pending run running. Python then decides as before: stale message,
fresh claim, or (the key exists) the take-over path.

The claim commits without waiting for its WAL to reach the disk (``synchronous_commit`` off
for that one statement's transaction): the node starts about a WAL flush sooner, which on
the benchmarks' disk was a tenth of a node's time. This loses nothing a synchronous claim
would keep. Other sessions see the claim at once either way, so two workers still cannot
both hold it. Only a crash of PostgreSQL itself can lose it, and only until the next
synchronous commit of anyone (the node's outcome is one), which writes all earlier WAL out
with it. And a crash while the node runs breaks the worker's connection: its task retries
and runs the node again whether or not the claim survived. What a lost claim does change is
its count of starts, one fewer towards ``PIPELINE_NODE_MAX_STARTS``. Inside a transaction
the statement leaves the setting alone: it would apply to everything else committed there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection

from apps.orchestration.engine import sql
from apps.orchestration.engine.sql import (
    Clock,
    LoadedRun,
    _column,
    _q,
    _run_state_fields,
)
from apps.orchestration.models import (
    OPEN_RUN_STATUSES,
    RESULT_STAGE_STATUSES,
    PipelineRun,
    StageExecution,
    StageStatus,
)


def available() -> bool:
    return connection.vendor == "postgresql"


@functools.cache
def _claim_sql(async_commit: bool = True) -> str:
    run, se = PipelineRun, StageExecution
    run_table, se_table = _q(run._meta.db_table), _q(se._meta.db_table)
    fields = _run_state_fields()
    columns = ", ".join(f"{_q(f.column)}" for f in fields)
    c = functools.partial(_column, se)
    r = functools.partial(_column, run)
    insert_columns = ", ".join(
        c(f)
        for f in (
            "run", "node_id", "node_type", "attempt", "idempotency_key", "status", "task_id",
            "worker", "claim_token", "lease_expires_at", "output_snapshot", "error_type",
            "error_message", "error_retryable", "created_at", "started_at", "starts",
        )
    )  # fmt: skip
    results = ", ".join(["%s"] * len(RESULT_STAGE_STATUSES))
    head, source = "WITH ", run_table
    if async_commit:
        head = f"WITH {sql.ASYNC_COMMIT_CTE}, "
        source = f"{run_table} CROSS JOIN c"
    return (
        f"{head}r AS (SELECT {columns}, statement_timestamp() AS now_ "  # noqa: S608
        f"FROM {source} WHERE {r('run_id')} = %s), "
        f"ins AS (INSERT INTO {se_table} ({insert_columns}) "
        f"SELECT r.{r('id')}, %s, COALESCE((SELECT n->>'type' FROM "
        f"jsonb_array_elements(r.{r('config')}->'nodes') n WHERE n->>'id' = %s LIMIT 1), ''), "
        "%s, %s, %s, %s, %s, %s, r.now_ + %s * interval '1 second', '{}'::jsonb, '', '', "
        "false, r.now_, r.now_, 1 "
        f"FROM r WHERE r.{r('status')} IN (%s, %s) AND r.{r('current_node')} = %s "
        f"AND r.{r('current_attempt')} = %s "
        f"ON CONFLICT ({c('idempotency_key')}) DO NOTHING RETURNING {c('id')}), "
        f"started AS (UPDATE {run_table} SET {r('status')} = %s, "
        f"{r('started_at')} = (SELECT now_ FROM r), {r('updated_at')} = (SELECT now_ FROM r) "
        f"WHERE {r('id')} = (SELECT {r('id')} FROM r) AND {r('status')} = %s "
        "AND EXISTS (SELECT 1 FROM ins) RETURNING 1) "
        f"SELECT {', '.join(f'r.{_q(f.column)}' for f in fields)}, r.now_, "
        f"(SELECT json_object_agg({c('node_id')}, {c('output_snapshot')} ORDER BY {c('id')}) "
        f"FROM {se_table} WHERE {c('run')} = r.{r('id')} AND {c('status')} IN ({results})), "
        "(SELECT id FROM ins) FROM r"
    )


@dataclass(frozen=True)
class ClaimRequest:
    """Who claims which execution: what the claim's statement is given."""

    run_id: str
    node_id: str
    attempt: int
    token: str
    task_id: str
    worker: str
    lease_seconds: float

    def params(self) -> list[Any]:
        """The parameters of ``_claim_sql`` (either variant), in order."""
        run_id, node_id, attempt = self.run_id, self.node_id, self.attempt
        return [
            run_id,
            node_id,
            node_id,
            attempt,
            f"{run_id}:{node_id}:{attempt}",
            StageStatus.RUNNING.value,
            self.task_id,
            self.worker,
            self.token,
            self.lease_seconds,
            *(s.value for s in OPEN_RUN_STATUSES),
            node_id,
            attempt,
            "running",
            "pending",
            *(s.value for s in RESULT_STAGE_STATUSES),
        ]


def load_and_claim(request: ClaimRequest) -> tuple[LoadedRun, int | None] | None:
    """The run as ``sql.load_run`` gives it, and the id of the execution this call inserted
    (None: the run is not open at this node and attempt, or the key exists). None when the
    run does not exist."""
    with sql.cursor() as cur:
        cur.execute(_claim_sql(async_commit=sql.may_commit_async()), request.params())
        row = cur.fetchone()
    if row is None:
        return None
    now, results, inserted = row[-3:]
    loaded = LoadedRun(sql.run_from_row(row), Clock.starting_at(now), sql.results_from(results))
    return loaded, inserted
