"""What operators do to a run: retry a failed run from its failed node, cancel an open one.

The admin, the API and the CLI all call these two functions, so each has one behaviour.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max

from apps.orchestration.engine import sql
from apps.orchestration.engine.policy import grace, message_expiry, step_for
from apps.orchestration.engine.runner import InlineRunner, Runner, default_runner
from apps.orchestration.graph import node_index
from apps.orchestration.models import (
    OPEN_RUN_STATUSES,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)
from apps.orchestration.signals import run_retried

logger = logging.getLogger(__name__)


class RunStateError(ValueError):
    """The run is not in a state that allows the operation; the message says why."""


def failed_node(run: PipelineRun) -> str:
    """The node a failed run stopped at: its failed required node, else (the engine ended
    it) the node it stood at."""
    nodes = node_index(run.config.get("nodes") or [])
    failures = StageExecution.objects.filter(run=run, status=StageStatus.FAILED).order_by("-id")
    for node_id in failures.values_list("node_id", flat=True):
        if nodes.get(node_id, {}).get("required", True):
            return node_id
    if run.current_node in nodes:
        return run.current_node
    raise RunStateError(f"run {run.run_id} has no failed node to retry from")


def retry_run(run_id: str, runner: Runner | None = None) -> PipelineRun:
    """Resume a failed run from its failed node: a new attempt of that node in the same run.

    Nodes that succeeded are not run again (the run continues from the failed node), and
    channels already notified are not notified again (the delivery ledger is per run, node
    and channel). Runs on the workers, or in this process without a broker.
    """
    run = PipelineRun.objects.filter(run_id=run_id).first()
    if run is None:
        raise RunStateError(f"run {run_id} does not exist")
    if run.status != RunStatus.FAILED:
        raise RunStateError(f"run {run_id} is {run.status}; only a failed run can be retried")
    node_id = failed_node(run)
    last = StageExecution.objects.filter(run=run, node_id=node_id).aggregate(n=Max("attempt"))
    attempt = (last["n"] or 0) + 1
    runner = runner or default_runner()
    now = sql.db_clock().now()
    with transaction.atomic():
        moved = PipelineRun.objects.filter(pk=run.pk, status=RunStatus.FAILED).update(
            status=RunStatus.RUNNING,
            current_node=node_id,
            current_attempt=attempt,
            error_type="",
            error_message="",
            completed_at=None,
            duration_ms=None,
            node_deadline=now + grace(),
            dispatch_expires_at=now + message_expiry(),
            dispatch_count=1,
            updated_at=now,
        )
        if not moved:
            raise RunStateError(f"run {run_id} changed state meanwhile; look at it again")
        run_retried.send(sender=PipelineRun, run_id=run.run_id, node_id=node_id)
        runner.schedule(
            step_for(run.run_id, run.config, node_id, attempt, 0.0, now + message_expiry())
        )
    logger.warning(
        "run %s retried from node %s (attempt %s)",
        run_id,
        node_id,
        attempt,
        extra={"trace_id": run.trace_id, "run_id": run.run_id},
    )
    if isinstance(runner, InlineRunner):
        runner.drain()
    run.refresh_from_db()
    return run


def cancel_run(run_id: str, reason: str = "cancelled by an operator") -> PipelineRun:
    """Stop an open run at its next node boundary: a node already running finishes and is
    recorded, but nothing after it starts."""
    now = sql.db_clock().now()
    run = PipelineRun.objects.filter(run_id=run_id).first()
    if run is None:
        raise RunStateError(f"run {run_id} does not exist")
    duration = max(0.0, (now - run.created_at).total_seconds() * 1000)
    cancelled = PipelineRun.objects.filter(pk=run.pk, status__in=OPEN_RUN_STATUSES).update(
        status=RunStatus.CANCELLED,
        error_type="Cancelled",
        error_message=reason,
        node_deadline=None,
        dispatch_expires_at=None,
        completed_at=now,
        duration_ms=duration,
        updated_at=now,
    )
    run.refresh_from_db()
    if not cancelled:
        raise RunStateError(
            f"run {run_id} is {run.status}; only a pending or running run can be cancelled"
        )
    logger.warning("run %s cancelled: %s", run_id, reason, extra={"run_id": run.run_id})
    return run
