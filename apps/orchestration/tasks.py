"""Celery tasks: thin wrappers that take ids, re-fetch rows and call the engine.

Names are explicit and stable: django-celery-beat stores them as strings.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.monitoring import heartbeat
from apps.orchestration import engine
from apps.orchestration.celery_runner import RUN_NODE_TASK, CeleryRunner
from apps.orchestration.dispatch import broker_configured
from apps.orchestration.errors import NodeFailedError
from apps.orchestration.models import StageStatus

logger = logging.getLogger(__name__)


@shared_task(
    name=RUN_NODE_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # A failed node is an expected outcome (recorded in the run): Flower shows the task as
    # failed, and the worker logs one line instead of a traceback.
    throws=(NodeFailedError,),
    max_retries=10,
)
def run_node(self, run_id: str, node_id: str, attempt: int = 1, claim_token: str = "") -> None:
    """Run one node of a run. ``claim_token`` is set only on this task's own retries: it
    lets the retry take back the claim its first try held (and nobody else's)."""
    runner = CeleryRunner(
        task_id=self.request.id or "",
        worker=self.request.hostname or "",
        claim_token=claim_token,
        tolerate_broker_errors=True,
    )
    try:
        status = engine.process_node(run_id, node_id, attempt, runner)
    except (OperationalError, InterfaceError) as exc:
        # Only the database being unreachable is worth a task-level retry; node errors are
        # retried by the engine per the definition's policy.
        countdown = min(60, 2 ** (self.request.retries or 0))
        raise self.retry(
            exc=exc, kwargs={"claim_token": runner.claim_token}, countdown=countdown
        ) from exc
    if status == StageStatus.FAILED:
        raise NodeFailedError(f"node {node_id} of run {run_id} failed (attempt {attempt})")


@shared_task(name="orchestration.recover_stalled_runs", ignore_result=True)
def recover_stalled_runs() -> int:
    """Re-publish runs whose current node made no progress past its deadline."""
    if not broker_configured():
        return 0
    # A step it cannot publish (the broker is away) is recorded as unpublished and tried
    # again next time, not taken for a queued message.
    recovered = len(engine.recover_stalled_runs(CeleryRunner(tolerate_broker_errors=True)))
    # The dashboard's "beat alive": beat sent this, a worker of the maintenance queue ran it.
    heartbeat.beat(heartbeat.RECOVERY, f"beat, {recovered} run(s) recovered")
    return recovered


@shared_task(name="orchestration.prune_runs", ignore_result=True)
def prune_runs() -> int:
    """Delete finished runs older than RUN_RETENTION_DAYS (hourly, from beat)."""
    from apps.orchestration.retention import prune_runs as prune

    return prune()


@shared_task(name="orchestration.run_scheduled_pipeline", ignore_result=True)
def run_scheduled_pipeline(
    definition_name: str,
    payload: dict | None = None,
    environment: str = "production",
    schedule: str | None = None,
    slot_seconds: int | None = None,
) -> str | None:
    """Start a definition from a beat schedule (a PeriodicTask with args ``["health-check"]``).

    With ``schedule`` (what ``schedules.create_schedule`` stores in the kwargs) one slot of
    that schedule starts at most one run. Returns the run id, or None (logged) when the
    definition is missing or inactive: a schedule must not crash-loop because someone
    switched its pipeline off.
    """
    from apps.orchestration.schedules import start_scheduled

    return start_scheduled(
        definition_name,
        payload=payload,
        environment=environment,
        schedule=schedule,
        slot_seconds=slot_seconds,
    )
