"""Celery tasks: thin wrappers that take ids, re-fetch rows and call the engine.

Names are explicit and stable: django-celery-beat stores them as strings.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.orchestration import engine
from apps.orchestration.dispatch import CeleryRunner, broker_configured

logger = logging.getLogger(__name__)


@shared_task(
    name="orchestration.run_node",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Only the database being unreachable is worth a task-level retry; node errors are
    # retried by the engine per the definition's policy.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
)
def run_node(self, run_id: str, node_id: str, attempt: int = 1) -> None:
    delivery = self.request.delivery_info or {}
    runner = CeleryRunner(
        task_id=self.request.id or "",
        worker=self.request.hostname or "",
        redelivered=bool(delivery.get("redelivered")),
        tolerate_broker_errors=True,
    )
    engine.process_node(run_id, node_id, attempt, runner)


@shared_task(name="orchestration.recover_stalled_runs", ignore_result=True)
def recover_stalled_runs() -> int:
    """Re-publish runs whose current node made no progress past its deadline."""
    if not broker_configured():
        return 0
    return len(engine.recover_stalled_runs(CeleryRunner()))


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
