"""Recording a node's outcome and moving the run on: the next node, a retry, or the end.

Both writes are conditional single statements, so no lock is held: the execution update
only lands while our claim token is current (and clears it), and the run update only while
the run still stands at this node and attempt. The next step is published only after both
landed. An outcome that cannot be stored as it is (not JSON, refused by the database) is
stored as that node's error instead, so a run never loops on it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError

from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import Claim
from apps.orchestration.engine.policy import NodePolicy, grace, message_expiry, step_for
from apps.orchestration.engine.runner import Runner, Step
from apps.orchestration.errors import NodeError
from apps.orchestration.graph import default_next, node_index
from apps.orchestration.models import RunStatus, StageExecution, StageStatus
from apps.orchestration.nodes import NodeResult, is_recomputable

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


@dataclass
class Plan:
    """Where the run goes after this node: the run's changes, and the step to publish."""

    changes: dict[str, Any]
    step: Step | None = None
    message: str = ""


def finish(claim: Claim, outcome: NodeResult | NodeError | None, runner: Runner) -> str | None:
    """Store ``outcome`` (None: it is stored already) and schedule what follows.

    Returns the execution's final status, or None when another execution owns it. On
    PostgreSQL the outcome and the run's move are one statement.
    """
    execution, node = claim.execution, claim.node
    if outcome is not None:
        _record(claim, outcome)
    plan = _plan_safely(claim, runner)
    if outcome is None:
        moved = sql.move_run(claim.run.pk, node["id"], execution.attempt, plan.changes)
    else:
        try:
            stored, moved = _store_and_move(claim, plan)
        except (OperationalError, InterfaceError):
            raise  # nothing could be recorded; the task retries and redoes only this step
        except DatabaseError as exc:
            # Refused by the database despite the checks (a NUL byte in some text, a value
            # out of range): record that as the node's error rather than loop on it.
            logger.exception("outcome of node %s cannot be stored", node["id"])
            _record(claim, _unstorable(exc))
            plan = _plan_safely(claim, runner)
            stored, moved = _store_and_move(claim, plan)
        if not stored:
            logger.info("%s lost its lease; another execution owns it", execution.idempotency_key)
            return None
    if not moved:
        logger.info("run %s already moved past %s", claim.run.run_id, node["id"])
    else:
        if plan.step is not None:
            runner.schedule(plan.step)
        if plan.message:
            failed = plan.changes.get("status") == RunStatus.FAILED
            (logger.warning if failed else logger.info)(plan.message)
    return execution.status


def _store_and_move(claim: Claim, plan: Plan) -> tuple[bool, bool]:
    run, execution = claim.run, claim.execution
    return sql.store_and_move(
        execution,
        _OUTCOME_FIELDS,
        claim.token,
        run.pk,
        claim.node["id"],
        execution.attempt,
        plan.changes,
        durable=_durable(claim, plan),
    )


def _durable(claim: Claim, plan: Plan) -> bool:
    """Whether the outcome's commit must wait for its WAL to reach the disk: yes, unless the
    node can be computed again at no other cost and the run goes on. The end of a run is
    always durable: callers, the API and the dashboard take it as final."""
    return "status" in plan.changes or not is_recomputable(claim.node["type"])


def _record(claim: Claim, outcome: NodeResult | NodeError) -> None:
    """Apply ``outcome`` to the execution in memory, as something the database can store."""
    execution, policy = claim.execution, NodePolicy.of(claim.run.config, claim.node)
    _apply(execution, outcome, claim.clock.now(), policy)
    try:
        _check_storable(execution.output_snapshot)
    except (TypeError, ValueError) as exc:
        # Bad output (a set, NaN, a NUL byte PostgreSQL refuses): the node's error, not a loop.
        logger.warning("output of node %s cannot be stored: %s", claim.node["id"], exc)
        _apply(execution, _unstorable(exc), claim.clock.now(), policy)


def _unstorable(exc: BaseException) -> NodeError:
    error = NodeError(f"node output could not be stored: {type(exc).__name__}: {exc}")
    error.error_type = "OutputNotStorableError"
    return error


def _plan_safely(claim: Claim, runner: Runner) -> Plan:
    try:
        return _plan(claim, runner)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        # A definition the engine cannot follow (a branch to nowhere in a frozen config):
        # end the run saying so rather than leave it for recovery to trip over forever.
        logger.exception("run %s cannot move past node %s", claim.run.run_id, claim.node["id"])
        error = f"engine could not move past node {claim.node['id']}: {exc}"
        return _end(claim, claim.clock.now(), error)


# An escaped NUL in JSON text: "\u0000" not itself preceded by an escaping backslash.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _check_storable(snapshot: dict[str, Any]) -> None:
    # Strict JSON (no NaN/Infinity: PostgreSQL's jsonb refuses them) and no NUL characters.
    text = json.dumps(snapshot, allow_nan=False)
    if "u0000" in text and _ESCAPED_NUL.search(text):
        raise ValueError("output contains a NUL character")


def _apply(
    execution: StageExecution, outcome: NodeResult | NodeError, now: datetime, policy: NodePolicy
) -> None:
    execution.completed_at = now
    execution.lease_expires_at = None
    if execution.started_at:
        execution.duration_ms = max(0.0, (now - execution.started_at).total_seconds() * 1000)
    if isinstance(outcome, NodeError):
        retry = outcome.retryable and execution.attempt <= policy.max_retries
        execution.status = StageStatus.RETRYING if retry else StageStatus.FAILED
        execution.error_type = getattr(outcome, "error_type", type(outcome).__name__)
        # PostgreSQL text refuses NUL; an error message must always be storable.
        execution.error_message = outcome.message.replace("\x00", "\\0")
        execution.error_retryable = outcome.retryable
        execution.output_snapshot = NodeResult(
            execution.node_id, execution.node_type, errors=[execution.error_message]
        ).to_dict()
        return
    execution.error_type, execution.error_message, execution.error_retryable = "", "", False
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


def _plan(claim: Claim, runner: Runner) -> Plan:
    run, node, execution = claim.run, claim.node, claim.execution
    now = claim.clock.now()
    if execution.status == StageStatus.RETRYING:
        attempt = execution.attempt + 1
        delay = NodePolicy.of(run.config, node).delay_before(attempt)
        logger.warning(
            "node %s attempt %s failed (%s); retrying in %.2fs",
            node["id"],
            execution.attempt,
            execution.error_message,
            delay,
        )
        return _schedule(claim, runner, now, node["id"], attempt, delay)

    changes: dict[str, Any] = {}
    incident_id = execution.output_snapshot.get("output", {}).get("incident_id")
    if node["type"] == "ingest" and isinstance(incident_id, int) and incident_id > 0:
        changes["incident_id"] = incident_id

    if execution.status == StageStatus.FAILED and node.get("required", True):
        return _end(claim, now, f"Node {node['id']} failed: {execution.error_message}")
    nxt = _next_node(run.config, node, execution)
    if nxt is None:
        return _end(claim, now, "", **changes)
    if nxt not in node_index(run.config["nodes"]):
        raise ValueError(f"next node {nxt!r} is not in the definition")
    return _schedule(claim, runner, now, nxt, 1, 0.0, **changes)


def _schedule(
    claim: Claim,
    runner: Runner,
    now: datetime,
    node_id: str,
    attempt: int,
    delay: float,
    **changes: Any,
) -> Plan:
    """Move the run to (``node_id``, ``attempt``) and publish it, or keep a long wait in the
    database for recovery to publish when due (the broker would redeliver it early)."""
    run = claim.run
    limit = runner.max_countdown()
    due = now + timedelta(seconds=delay)
    published = limit is None or delay <= limit
    changes |= {
        "current_node": node_id,
        "current_attempt": attempt,
        "node_deadline": due + grace() if published else due,
        "dispatch_expires_at": due + message_expiry() if published else None,
        # Publications of the step the run now stands at (recovery adds its own).
        "dispatch_count": 1 if published else 0,
        "updated_at": now,
    }
    if not published:
        message = f"node {node_id} attempt {attempt} waits in the database until {due}"
        return Plan(changes, None, message)
    step = step_for(run.run_id, run.config, node_id, attempt, delay, due + message_expiry())
    return Plan(changes, step)


def _next_node(config: dict[str, Any], node: dict[str, Any], execution: StageExecution):
    if node["type"] == "condition" and execution.status == StageStatus.SUCCEEDED:
        return execution.output_snapshot.get("next_node")
    return default_next(config["nodes"], node["id"])


def _end(claim: Claim, now: datetime, error: str, **changes: Any) -> Plan:
    run = claim.run
    status = RunStatus.FAILED if error else RunStatus.COMPLETED
    changes |= {
        "status": status,
        "error_type": "NodeExecutionError" if error else "",
        "error_message": error.replace("\x00", "\\0"),
        "current_node": "",
        "node_deadline": None,
        "dispatch_expires_at": None,
        "completed_at": now,
        "duration_ms": max(0.0, (now - run.created_at).total_seconds() * 1000),
        "updated_at": now,
    }
    return Plan(changes, None, f"run {run.run_id} {status}{f': {error}' if error else ''}")
