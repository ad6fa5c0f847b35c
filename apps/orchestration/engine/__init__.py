"""The pipeline engine: one code path for a node, whether it runs on a worker or in-process.

A run moves one node at a time through ``process_node``:

1. claim (``claim.py``): check the message is for the run's current node and attempt, and
   take the execution by its idempotency key (``run_id:node_id:attempt``) with a short lease
   that a heartbeat renews while the node runs (``heartbeat.py``);
2. execute (``execute.py``): skip rules, then the handler under the node's timeout; every
   failure becomes a typed ``NodeError``;
3. finish (``finish.py``): store the outcome if the claim is still ours (which ends the
   claim), move the run on (next node, retry with backoff, or end) and only then publish the
   next step.

Every decision is stored before the next step is published, so a lost message or a dead
worker leaves a run whose ``node_deadline`` passes; ``recover_stalled_runs`` publishes it
again and the claim makes the duplicate harmless. Nothing here knows Celery: steps go to a
``Runner`` (``runner.py``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now
from django.utils import timezone

from apps.orchestration.engine import sql_start
from apps.orchestration.engine.claim import claim
from apps.orchestration.engine.execute import execute, previous_results
from apps.orchestration.engine.finish import finish
from apps.orchestration.engine.heartbeat import heartbeat
from apps.orchestration.engine.policy import (
    NodePolicy,
    grace,
    lease_seconds,
    message_expiry,
    step_for,
)
from apps.orchestration.engine.recovery import fail_run, recover_stalled_runs
from apps.orchestration.engine.runner import InlineRunner, Runner, Step
from apps.orchestration.logging import bind_run
from apps.orchestration.models import PipelineRun

logger = logging.getLogger(__name__)

__all__ = [
    "InlineRunner",
    "NodePolicy",
    "Runner",
    "Step",
    "create_run",
    "previous_results",
    "process_node",
    "recover_stalled_runs",
]


def _db_now_plus(delta: timedelta) -> ExpressionWrapper:
    # The database's clock, not this host's: every worker compares deadlines against it.
    return ExpressionWrapper(Now() + delta, output_field=DateTimeField())


def create_run(
    *,
    config: dict[str, Any],
    definition: Any,
    definition_name: str,
    definition_version: int,
    payload: Any,
    source: str,
    trace_id: str | None,
    environment: str,
    incident_id: int | None,
    runner: Runner,
    config_json: str | None = None,
    payload_json: str | None = None,
    companion: sql_start.Companion | None = None,
) -> PipelineRun:
    """Store a new run (and ``companion``, a row that must exist with it or not at all) and
    schedule its entry node (published after the commit).

    ``config_json``/``payload_json`` are the same data already serialized (a cached config,
    a request body as received): on PostgreSQL they are stored as they are. There the run and
    its companion are one INSERT statement; elsewhere one transaction.
    """
    entry = config["nodes"][0]["id"]
    values: dict[str, Any] = {
        "run_id": str(uuid.uuid4()),
        "trace_id": trace_id or str(uuid.uuid4()),
        "definition_id": definition.pk if getattr(definition, "pk", None) else None,
        "definition_name": definition_name,
        "definition_version": definition_version,
        "config": config,
        "payload": payload,
        "source": source,
        "environment": environment,
        "incident_id": incident_id,
        "current_node": entry,
        "dispatch_count": 1 if runner.records_dispatch() else 0,
    }
    published = runner.records_dispatch()
    # The worker judges a message's expiry by its own clock anyway; the row's copy is the
    # database's, which recovery compares against.
    expires = timezone.now() + message_expiry()
    step = step_for(values["run_id"], config, entry, 1, 0.0, expires)
    if connection.vendor == "postgresql":
        clocked = {
            "node_deadline": sql_start.DbNow(grace().total_seconds()),
            "dispatch_expires_at": sql_start.DbNow(message_expiry().total_seconds())
            if published
            else None,
            "created_at": sql_start.DbNow(),
            "updated_at": sql_start.DbNow(),
        }
        raw = {"config": config_json, "payload": payload_json}
        raw = {k: sql_start.RawJson(v) for k, v in raw.items() if v is not None}
        # One statement, committed by itself when no transaction is open (no BEGIN/COMMIT
        # round trips); the step is published after it (on_commit runs at once then).
        pk = sql_start.insert_run({**values, **clocked, **raw}, companion)
        runner.schedule(step)
        run = PipelineRun(pk=pk, **values)
        run._state.adding = False
        run.created_at = timezone.now()  # for callers' logging; the row holds the database's
    else:
        with transaction.atomic(savepoint=False):
            run = PipelineRun.objects.create(
                **values,
                node_deadline=_db_now_plus(grace()),
                dispatch_expires_at=_db_now_plus(message_expiry()) if published else None,
            )
            if companion is not None:
                companion.model.objects.create(**companion.values, **{companion.run_field: run})
            runner.schedule(step)
    logger.info(
        "run created for %s (entry node %s)",
        definition_name,
        entry,
        extra={"trace_id": run.trace_id, "run_id": run.run_id},
    )
    return run


def process_node(run_id: str, node_id: str, attempt: int, runner: Runner) -> str | None:
    """Execute one node of a run (at most once per success) and schedule what follows.

    Returns the execution's final status when this call stored or completed it, else None
    (a stale or duplicate message). Only a lost database connection raises.
    """
    try:
        claimed = claim(run_id, node_id, attempt, runner)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        # The run cannot even be claimed (its frozen config lost the node, bad data): a
        # redelivery would fail the same way, so end the run saying why.
        logger.exception("run %s: node %s could not be started", run_id, node_id)
        fail_run(run_id, f"node {node_id} could not be started: {type(exc).__name__}: {exc}")
        return None
    if claimed is None:
        return None
    with bind_run(claimed.run.trace_id, run_id):
        if claimed.already_done:
            # The outcome was stored but the step after it may not have been: redo only that.
            finish(claimed, None, runner)
            return None
        if claimed.verdict is not None:
            return finish(claimed, claimed.verdict, runner)
        policy = NodePolicy.of(claimed.run.config, claimed.node)
        # Renew past the hard limit by a margin: the pool's kill comes a moment late, and
        # nobody may take the node over while it still runs.
        limit = policy.hard_limit + max(10.0, lease_seconds())
        with heartbeat.hold(
            claimed.execution.pk, claimed.token, lease=lease_seconds(), limit=limit
        ):
            outcome = execute(claimed)
        return finish(claimed, outcome, runner)
