"""Finding runs that stopped moving and publishing their current step again.

The database is the source of truth and the broker only a signal: a message lost with a
restarted Redis, or held by a worker that was killed, leaves a run whose ``node_deadline``
passes. For each such run, on its own (one bad run is logged and skipped, the sweep goes on):

- its node is running and the holder renews its lease: look again when the lease would end;
- its node started and the lease lapsed (the worker died), or its outcome is stored but the
  run did not move on: publish the step again (the claim takes over or just moves on);
- its step was published, never started, and its message is still valid: if anything waits
  ahead of it in its queue it is merely queued, so leave it; if its queue is empty the
  message was lost, so publish it again;
- its step waits in the database (a long backoff) and is due: publish it.

A step published ``PIPELINE_NODE_MAX_STARTS`` times without ever starting, or a run whose
frozen config no longer names its node, fails with a message saying so: nothing is re-sent
forever.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F

from apps.orchestration.engine import sql
from apps.orchestration.engine.policy import grace, max_starts, message_expiry, step_for
from apps.orchestration.engine.runner import Runner, Step
from apps.orchestration.models import (
    OPEN_RUN_STATUSES,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)

logger = logging.getLogger(__name__)


def recover_stalled_runs(runner: Runner, limit: int = 500) -> list[str]:
    """Publish again the current step of every run past its deadline that needs it; returns
    the ids of the runs whose step was published."""
    now = sql.db_clock().now()
    stalled = PipelineRun.objects.filter(status__in=OPEN_RUN_STATUSES, node_deadline__lt=now)
    pks = list(stalled.order_by("node_deadline").values_list("pk", flat=True)[:limit])
    # A worker that died mid-node shows as a lapsed lease before its run's deadline passes:
    # take those too, so a dead worker's node moves within a lease and a sweep interval.
    dead = StageExecution.objects.filter(
        status=StageStatus.RUNNING, lease_expires_at__lt=now, run__status__in=OPEN_RUN_STATUSES
    )
    pks += [pk for pk in dead.values_list("run_id", flat=True)[:limit] if pk not in pks]
    backlogs: dict[str, int | None] = {}
    recovered = []
    for pk in pks:
        try:
            run_id = _recover(pk, now, runner, backlogs)
        except (OperationalError, InterfaceError):
            raise  # the database is away: nothing can be decided this round
        except Exception:
            logger.exception("recovery skipped run pk=%s after an error", pk)
            # Look at it again later, not first in every sweep.
            PipelineRun.objects.filter(pk=pk).update(node_deadline=now + grace())
            continue
        if run_id:
            recovered.append(run_id)
    return recovered


def _recover(pk: int, now: datetime, runner: Runner, backlogs: dict[str, int | None]) -> str:
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if run is None or run.is_finished:
            return ""
        try:
            step = step_for(run.run_id, run.config, run.current_node, run.current_attempt)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            _fail(run, now, f"recovery cannot schedule node {run.current_node!r}: {exc!r}")
            return ""
        key = f"{run.run_id}:{run.current_node}:{run.current_attempt}"
        execution = (
            StageExecution.objects.filter(idempotency_key=key)
            .only("status", "lease_expires_at")
            .first()
        )
        running = execution is not None and execution.status == StageStatus.RUNNING
        lease = execution.lease_expires_at if execution is not None and running else None
        stalled = bool(run.node_deadline) and run.node_deadline < now
        if running and lease is not None and lease > now:
            if stalled:
                # Running, and its holder renews the lease: look again when it would lapse.
                _set(run, node_deadline=lease)
            return ""
        if running and not _published_since(run, lease):
            pass  # its worker died since the step was last published: publish it again now
        elif not stalled:
            return ""  # moved on since the query, or its new message is not due yet
        elif (execution is None or running) and _message_valid(run, now):
            if _backlog(runner, step, backlogs):
                _set(run, node_deadline=now + grace())  # merely queued behind others
                return ""
            if execution is None and run.dispatch_count >= max_starts():
                _fail(
                    run,
                    now,
                    f"node {run.current_node} was published {run.dispatch_count} times and "
                    "never started (see the worker logs)",
                )
                return ""
        expires = now + message_expiry()
        _set(
            run,
            node_deadline=now + grace(),
            dispatch_expires_at=expires,
            dispatch_count=F("dispatch_count") + 1,
        )
        runner.schedule(Step(step.run_id, step.node, step.attempt, step.timeout, 0.0, expires))
    logger.warning(
        "recovering stalled run %s at node %s attempt %s",
        run.run_id,
        run.current_node,
        run.current_attempt,
        extra={"trace_id": run.trace_id, "run_id": run.run_id},
    )
    return run.run_id


def _published_since(run: PipelineRun, lease: datetime | None) -> bool:
    """Whether the step was published after its holder's lease lapsed (recovery already
    answered that death; the new message is on its way)."""
    if run.dispatch_expires_at is None or lease is None:
        return False
    return run.dispatch_expires_at - message_expiry() >= lease


def _message_valid(run: PipelineRun, now: datetime) -> bool:
    return bool(run.dispatch_expires_at) and run.dispatch_expires_at > now


def _backlog(runner: Runner, step: Step, cache: dict[str, int | None]) -> int:
    queue = str(step.node.get("queue") or step.node.get("type"))
    if queue not in cache:
        cache[queue] = runner.backlog(step)
    return cache[queue] or 0


def _set(run: PipelineRun, **changes: Any) -> None:
    PipelineRun.objects.filter(pk=run.pk).update(**changes)


def _fail(run: PipelineRun, now: datetime, message: str) -> None:
    logger.error("run %s failed: %s", run.run_id, message)
    fail_run(run.run_id, message, now=now)


def fail_run(run_id: str, message: str, *, now: datetime | None = None) -> bool:
    """End an open run as failed with ``message`` (the engine could not go on)."""
    now = now or sql.db_clock().now()
    run = PipelineRun.objects.filter(run_id=run_id).only("created_at").first()
    if run is None:
        return False
    duration = max(0.0, (now - run.created_at).total_seconds() * 1000)
    return bool(
        PipelineRun.objects.filter(run_id=run_id, status__in=OPEN_RUN_STATUSES).update(
            status=RunStatus.FAILED,
            error_type="EngineError",
            error_message=message.replace("\x00", "\\0"),
            # current_node stays: it says where the run stopped (and where a retry resumes).
            node_deadline=None,
            dispatch_expires_at=None,
            completed_at=now,
            duration_ms=duration,
            updated_at=now,
        )
    )
