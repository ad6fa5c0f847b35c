"""The pipeline engine: one code path for a node, whether it runs on a worker or in-process.

A run moves one node at a time through ``process_node``:

1. claim (``claim.py``): check the message is for the run's current node and attempt, and
   take the execution by its idempotency key (``run_id:node_id:attempt``) with a lease;
2. execute (``execute.py``): skip rules, then the handler under the node's timeout;
3. finish (``finish.py``): store the outcome if the lease is still ours, move the run on
   (next node, retry with backoff, or end) and only then publish the next step.

Every decision is stored before the next step is published, so a lost message or a dead
worker leaves a run whose ``node_deadline`` passes; ``recover_stalled_runs`` publishes it
again and the claim makes the duplicate harmless.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.orchestration.dispatch import Runner
from apps.orchestration.engine.claim import claim
from apps.orchestration.engine.execute import execute, previous_results
from apps.orchestration.engine.finish import finish
from apps.orchestration.engine.policy import NodePolicy, grace, step_for
from apps.orchestration.engine.recovery import recover_stalled_runs
from apps.orchestration.logging import bind_run
from apps.orchestration.models import PipelineRun

logger = logging.getLogger(__name__)

__all__ = [
    "NodePolicy",
    "create_run",
    "previous_results",
    "process_node",
    "recover_stalled_runs",
]


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
) -> PipelineRun:
    """Store a new run and schedule its entry node (published after the commit)."""
    entry = config["nodes"][0]["id"]
    # No savepoint when a caller's transaction is open (the webhook stores its dedup key in
    # the same one): two round trips less on the hot path, and the caller rolls back whole.
    with transaction.atomic(savepoint=False):
        run = PipelineRun.objects.create(
            trace_id=trace_id or str(uuid.uuid4()),
            definition=definition if getattr(definition, "pk", None) else None,
            definition_name=definition_name,
            definition_version=definition_version,
            config=config,
            payload=payload,
            source=source,
            environment=environment,
            incident_id=incident_id,
            current_node=entry,
            node_deadline=timezone.now() + grace(),
            dispatch_count=1,
        )
        runner.schedule(step_for(run.run_id, config, entry, 1))
    logger.info(
        "run created for %s (entry node %s)",
        definition_name,
        entry,
        extra={"trace_id": run.trace_id, "run_id": run.run_id},
    )
    return run


def process_node(run_id: str, node_id: str, attempt: int, runner: Runner) -> None:
    """Execute one node of a run (at most once per success) and schedule what follows."""
    claimed = claim(run_id, node_id, attempt, runner)
    if claimed is None:
        return
    with bind_run(claimed.run.trace_id, run_id):
        if claimed.already_done:
            # The outcome was stored but the step after it may not have been: redo only that.
            finish(claimed, None, runner)
        else:
            finish(claimed, execute(claimed), runner)
