"""Claiming a node execution: at most one live execution per run, node and attempt.

No transaction is held: the checks are single conditional statements. The execution row's
unique idempotency key (``run_id:node_id:attempt``) decides who runs a node; its
``claim_token`` decides whose result counts when a lease lapses and another worker takes over.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.orchestration.dispatch import Runner
from apps.orchestration.engine import sql
from apps.orchestration.engine.policy import NodePolicy, grace
from apps.orchestration.graph import node_index
from apps.orchestration.models import (
    FINAL_STAGE_STATUSES,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)

logger = logging.getLogger(__name__)


@dataclass
class Claim:
    run: PipelineRun  # only sql.RUN_STATE_FIELDS are loaded
    node: dict[str, Any]
    execution: StageExecution
    already_done: bool

    @property
    def token(self) -> str:
        return self.execution.claim_token


def claim(run_id: str, node_id: str, attempt: int, runner: Runner) -> Claim | None:
    """The execution this message may run, or None when it is stale or owned elsewhere."""
    run = sql.load_run(run_id)
    if run is None:
        logger.warning("run %s no longer exists; dropping node %s", run_id, node_id)
        return None
    if run.is_finished or (run.current_node, run.current_attempt) != (node_id, attempt):
        logger.info("stale message for run %s node %s attempt %s", run_id, node_id, attempt)
        return None
    node = node_index(run.config["nodes"])[node_id]
    now = timezone.now()
    lease = now + timedelta(seconds=NodePolicy.of(run.config, node).timeout) + grace()
    claimed = {
        "status": StageStatus.RUNNING,
        "claim_token": str(uuid.uuid4()),
        "task_id": runner.task_id,
        "worker": runner.worker,
        "started_at": now,
        "lease_expires_at": lease,
    }
    execution = StageExecution(
        run_id=run.pk,
        node_id=node_id,
        node_type=node["type"],
        attempt=attempt,
        idempotency_key=f"{run_id}:{node_id}:{attempt}",
        **claimed,
    )
    if not sql.insert_execution(execution):
        execution = _take_over(execution.idempotency_key, claimed, now, runner)
        if execution is None:
            return None
        if execution.status in FINAL_STAGE_STATUSES:
            return Claim(run, node, execution, already_done=True)
    if run.status == RunStatus.PENDING:
        PipelineRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=now, updated_at=now
        )
    return Claim(run, node, execution, already_done=False)


def _take_over(
    key: str, claimed: dict[str, Any], now: Any, runner: Runner
) -> StageExecution | None:
    """The key exists: a redelivery, a recovery, or a duplicate message."""
    existing = StageExecution.objects.get(idempotency_key=key)
    if existing.status in FINAL_STAGE_STATUSES:
        return existing  # finished; only the step after it may be missing
    leased = existing.lease_expires_at is not None and existing.lease_expires_at > now
    # Our own task retried (e.g. after the database dropped mid-node) holds the lease too.
    ours = bool(runner.task_id) and existing.task_id == runner.task_id
    if existing.status == StageStatus.RUNNING and leased and not (runner.redelivered or ours):
        logger.info("%s is already running on %s", key, existing.worker or "another worker")
        return None
    # The previous holder died (redelivered message or lapsed lease): take its place, unless
    # another taker got there first (the token no longer matches).
    taken = StageExecution.objects.filter(pk=existing.pk, claim_token=existing.claim_token).update(
        **claimed
    )
    if not taken:
        return None
    logger.warning("took over %s from %s", key, existing.worker or "a lost execution")
    for field, value in claimed.items():
        setattr(existing, field, value)
    return existing
