"""Recording a node's outcome and moving the run on: the next node, a retry, or the end.

Both writes are conditional single statements, so no lock is held: the execution update
only lands while our claim token is current, and the run update only while the run still
stands at this node and attempt. The next step is published only after both landed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.orchestration.dispatch import Runner
from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import Claim
from apps.orchestration.engine.policy import NodePolicy, grace, step_for
from apps.orchestration.errors import NodeError
from apps.orchestration.graph import default_next
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus
from apps.orchestration.nodes import NodeResult

logger = logging.getLogger(__name__)

_OUTCOME_FIELDS = (
    "status",
    "completed_at",
    "lease_expires_at",
    "duration_ms",
    "error_type",
    "error_message",
    "error_retryable",
    "output_snapshot",
)


def finish(claim: Claim, outcome: NodeResult | NodeError | None, runner: Runner) -> None:
    """Store ``outcome`` (None: it is stored already) and schedule what follows."""
    now = timezone.now()
    run, node, execution = claim.run, claim.node, claim.execution
    policy = NodePolicy.of(run.config, node)
    if outcome is not None:
        _apply(execution, outcome, now, policy)
        if not sql.store_outcome(execution, _OUTCOME_FIELDS, claim.token):
            logger.info("%s lost its lease; another execution owns it", execution.idempotency_key)
            return

    if execution.status == StageStatus.RETRYING:
        attempt = execution.attempt + 1
        delay = policy.delay_before(attempt)
        logger.warning(
            "node %s attempt %s failed (%s); retrying in %.2fs",
            node["id"],
            execution.attempt,
            execution.error_message,
            delay,
        )
        deadline = now + timedelta(seconds=delay + policy.timeout) + grace()
        if _advance(run, node, execution, current_attempt=attempt, node_deadline=deadline):
            runner.schedule(step_for(run.run_id, run.config, node["id"], attempt, delay))
        return

    changes: dict[str, Any] = {}
    incident_id = execution.output_snapshot.get("output", {}).get("incident_id")
    if node["type"] == "ingest" and isinstance(incident_id, int):
        changes["incident_id"] = incident_id

    if execution.status == StageStatus.FAILED and node.get("required", True):
        _end(run, node, execution, now, f"Node {node['id']} failed: {execution.error_message}")
        return
    nxt = _next_node(run.config, node, execution)
    if nxt is None:
        _end(run, node, execution, now, "", **changes)
        return
    if _advance(
        run, node, execution, current_node=nxt, current_attempt=1, node_deadline=now + grace(),
        **changes,
    ):  # fmt: skip
        runner.schedule(step_for(run.run_id, run.config, nxt, 1))


def _apply(
    execution: StageExecution, outcome: NodeResult | NodeError, now: Any, policy: NodePolicy
) -> None:
    execution.completed_at = now
    execution.lease_expires_at = None
    if execution.started_at:
        execution.duration_ms = (now - execution.started_at).total_seconds() * 1000
    if isinstance(outcome, NodeError):
        retry = outcome.retryable and execution.attempt <= policy.max_retries
        execution.status = StageStatus.RETRYING if retry else StageStatus.FAILED
        execution.error_type = getattr(outcome, "error_type", type(outcome).__name__)
        execution.error_message = outcome.message
        execution.error_retryable = outcome.retryable
        execution.output_snapshot = NodeResult(
            execution.node_id, execution.node_type, errors=[outcome.message]
        ).to_dict()
        return
    snapshot = outcome.to_dict()
    snapshot["next_node"] = outcome.next_node
    execution.output_snapshot = snapshot
    if outcome.skipped:
        execution.status = StageStatus.SKIPPED
    elif outcome.has_errors:
        execution.status = StageStatus.FAILED
        execution.error_type = "NodeError"
        execution.error_message = "; ".join(outcome.errors)
    else:
        execution.status = StageStatus.SUCCEEDED


def _next_node(config: dict[str, Any], node: dict[str, Any], execution: StageExecution):
    if node["type"] == "condition" and execution.status == StageStatus.SUCCEEDED:
        return execution.output_snapshot.get("next_node")
    return default_next(config["nodes"], node["id"])


def _advance(run: PipelineRun, node: dict, execution: StageExecution, **changes: Any) -> bool:
    changes["updated_at"] = timezone.now()
    moved = sql.move_run(run.pk, node["id"], execution.attempt, changes, dispatch=True)
    if not moved:
        logger.info("run %s already moved past %s", run.run_id, node["id"])
    return moved


def _end(
    run: PipelineRun, node: dict, execution: StageExecution, now: Any, error: str, **changes: Any
) -> None:
    status = RunStatus.FAILED if error else RunStatus.COMPLETED
    changes |= {
        "status": status,
        "error_type": "NodeExecutionError" if error else "",
        "error_message": error,
        "current_node": "",
        "node_deadline": None,
        "completed_at": now,
        "duration_ms": (now - run.created_at).total_seconds() * 1000,
        "updated_at": now,
    }
    if sql.move_run(run.pk, node["id"], execution.attempt, changes, dispatch=False):
        (logger.warning if error else logger.info)(
            "run %s %s%s", run.run_id, status, f": {error}" if error else ""
        )
