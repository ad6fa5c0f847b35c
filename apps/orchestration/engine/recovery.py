"""Finding runs that stopped moving and publishing their current node again.

The database is the source of truth and the broker only a signal: a message lost with a
restarted Redis, or held by a worker that was killed, leaves a run whose ``node_deadline``
passes. Publishing the step again is safe: the claim lets only one execution run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.orchestration.dispatch import Runner
from apps.orchestration.engine.policy import grace, step_for
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus

logger = logging.getLogger(__name__)


def recover_stalled_runs(runner: Runner, now: Any = None, limit: int = 500) -> list[str]:
    """Publish again the current node of every run past its deadline; returns their ids."""
    now = now or timezone.now()
    stalled = PipelineRun.objects.filter(
        status__in=[RunStatus.PENDING, RunStatus.RUNNING], node_deadline__lt=now
    ).order_by("node_deadline")
    recovered = []
    for pk in list(stalled.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            run = PipelineRun.objects.select_for_update().filter(pk=pk).first()
            if run is None or run.is_finished or not run.node_deadline or run.node_deadline >= now:
                continue
            key = f"{run.run_id}:{run.current_node}:{run.current_attempt}"
            live = StageExecution.objects.filter(
                idempotency_key=key, status=StageStatus.RUNNING, lease_expires_at__gt=now
            ).values_list("lease_expires_at", flat=True)
            lease = live.first()
            if lease is not None:
                # Still running within its timeout: look again when the lease ends.
                PipelineRun.objects.filter(pk=pk).update(node_deadline=lease)
                continue
            step = step_for(run.run_id, run.config, run.current_node, run.current_attempt)
            PipelineRun.objects.filter(pk=pk).update(
                node_deadline=now + grace(),
                dispatch_count=F("dispatch_count") + 1,
                updated_at=now,
            )
            runner.schedule(step)
            recovered.append(run.run_id)
            logger.warning(
                "recovering stalled run %s at node %s attempt %s",
                run.run_id,
                run.current_node,
                run.current_attempt,
                extra={"trace_id": run.trace_id, "run_id": run.run_id},
            )
    return recovered
