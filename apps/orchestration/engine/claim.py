"""Claiming a node execution: at most one live execution per run, node and attempt.

No transaction is held: every decision is one conditional statement. The execution row's
unique idempotency key (``run_id:node_id:attempt``) decides who runs a node first; after
that, a claim changes hands only when its lease lapsed (the holder stopped renewing it: dead)
or when the holder's own task retries with its token. Storing an outcome clears the token,
so a finished execution (RETRYING included) can never be reopened.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apps.orchestration.engine import sql, sql_claim
from apps.orchestration.engine.policy import NodePolicy, lease_seconds, max_starts
from apps.orchestration.engine.runner import Runner
from apps.orchestration.errors import NodeAbandonedError, NodeError, NodeTimeoutError
from apps.orchestration.graph import node_index
from apps.orchestration.models import (
    FINAL_STAGE_STATUSES,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)
from apps.orchestration.nodes import is_recomputable

logger = logging.getLogger(__name__)


@dataclass
class Claim:
    run: PipelineRun  # only sql.RUN_STATE_FIELDS are loaded
    node: dict[str, Any]
    execution: StageExecution
    clock: sql.Clock
    # The outcome is stored already; only the step after it may be missing.
    already_done: bool = False
    # Taken from a holder that never finished: the engine records this instead of running.
    verdict: NodeError | None = None
    # The earlier nodes' results when they came with the run (see ``sql.load_run``).
    results: dict[str, dict[str, Any]] | None = None

    @property
    def token(self) -> str:
        return self.execution.claim_token


def claim(run_id: str, node_id: str, attempt: int, runner: Runner) -> Claim | None:
    """The execution this message may run, or None when it is stale or owned elsewhere."""
    token = str(uuid.uuid4())
    inserted: int | None = None
    if sql_claim.available():
        # One round trip: the run, and our execution inserted if the run stands here.
        found = sql_claim.load_and_claim(
            sql_claim.ClaimRequest(
                run_id, node_id, attempt, token, runner.task_id, runner.worker, lease_seconds()
            )
        )
        loaded, inserted = found if found is not None else (None, None)
    else:
        loaded = sql.load_run(run_id)
    if loaded is None:
        logger.warning("run %s no longer exists; dropping node %s", run_id, node_id)
        return None
    run, clock = loaded.run, loaded.clock
    if run.is_finished or (run.current_node, run.current_attempt) != (node_id, attempt):
        logger.info("stale message for run %s node %s attempt %s", run_id, node_id, attempt)
        return None
    node = node_index(run.config["nodes"])[node_id]
    now = clock.base if inserted else clock.now()  # the statement's own clock when it inserted
    claimed = {
        "claim_token": token,
        "task_id": runner.task_id,
        "worker": runner.worker,
        "started_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_seconds()),
    }
    execution = StageExecution(
        run_id=run.pk,
        node_id=node_id,
        node_type=node["type"],
        attempt=attempt,
        idempotency_key=f"{run_id}:{node_id}:{attempt}",
        status=StageStatus.RUNNING,
        starts=1,
        **claimed,
    )
    result = Claim(run, node, execution, clock, results=loaded.results)
    pending = run.status == RunStatus.PENDING
    if inserted:
        execution.pk, execution.created_at = inserted, now
        execution._state.adding = False
    elif sql_claim.available() or not sql.insert_execution(execution, start_run=pending):
        taken = _take_over(result, claimed, runner)
        if taken is None:
            return None
        result = taken
    else:
        inserted = execution.pk
    runner.claim_token = result.token
    # On PostgreSQL a fresh insert marked the run running in the same statement.
    if pending and not result.already_done and not (inserted and sql.starts_run_inline()):
        PipelineRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=now, updated_at=now
        )
    return result


def _take_over(fresh: Claim, claimed: dict[str, Any], runner: Runner) -> Claim | None:
    """The key exists: a duplicate message, a recovery after a dead worker, our own retry."""
    key = fresh.execution.idempotency_key
    existing = StageExecution.objects.get(idempotency_key=key)
    if existing.status in FINAL_STAGE_STATUSES:
        return Claim(fresh.run, fresh.node, existing, fresh.clock, already_done=True)
    now = fresh.clock.now()
    taken = sql.take_over(key, claimed, now, runner.claim_token)
    if taken is None:
        logger.info(
            "%s is held by %s until %s; not taking it",
            key,
            existing.worker or "another worker",
            existing.lease_expires_at,
        )
        return None
    previous_worker, previous_start = existing.worker, existing.started_at
    ours = bool(runner.claim_token) and existing.claim_token == runner.claim_token
    for field, value in claimed.items():
        setattr(existing, field, value)
    existing.starts = taken[1]
    taken_claim = Claim(fresh.run, fresh.node, existing, fresh.clock, results=fresh.results)
    if ours:
        logger.info("%s resumed by its own task after a retry", key)
        return taken_claim
    logger.warning("took over %s from %s (lease lapsed)", key, previous_worker or "a lost worker")
    taken_claim.verdict = _verdict(fresh, existing, previous_worker, previous_start, now)
    return taken_claim


def _verdict(
    fresh: Claim, existing: StageExecution, worker: str, started: Any, now: Any
) -> NodeError | None:
    """Whether the taken-over attempt should be recorded as failed instead of run again."""
    node = fresh.node
    last = worker or "unknown"
    if existing.starts > max_starts():
        return NodeAbandonedError(
            f"node {node['id']} was started {existing.starts - 1} times and never finished; "
            f"last worker: {last}"
        )
    if is_recomputable(node["type"]):
        # Its holder may well have finished: a recomputable node's outcome commits without a
        # WAL flush, and a crash of PostgreSQL can lose it while the claim survives. Run it
        # again; one that truly hangs is stopped by its soft limit (a typed timeout), and
        # the count of starts above still ends one killed every time.
        return None
    policy = NodePolicy.of(fresh.run.config, node)
    if started is not None and (now - started).total_seconds() >= policy.hard_limit:
        # Past the hard limit the pool killed it, or its worker died late: either way the
        # node had its whole timeout. Another attempt (per max_retries) may still succeed.
        return NodeTimeoutError(
            f"node {node['id']} did not finish within its timeout of {policy.timeout:g}s "
            f"(its worker {last} stopped)"
        )
    return None
