"""Scheduled pipelines: django-celery-beat periodic tasks that start a definition.

``create_schedule("health-check", every="5m")`` or ``cron="*/5 * * * *"`` stores a
``PeriodicTask`` running ``orchestration.run_scheduled_pipeline`` with the definition's name;
``list_schedules()`` and ``delete_schedule(name)`` manage them (the API, ``schedule_pipeline``
and the setup wizard all use these). Beat firing one slot twice (two beat processes, a
re-sent message) starts one run: ``start_scheduled`` claims ``(schedule, slot start)`` in
the run's transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from celery.schedules import crontab as celery_crontab
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

logger = logging.getLogger(__name__)

TASK_NAME = "orchestration.run_scheduled_pipeline"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$")
MIN_SECONDS, MAX_SECONDS = 1, 366 * 86400
CRON_SLOT_SECONDS = 60  # cron's smallest step is a minute


class ScheduleError(ValueError):
    """A schedule that cannot be stored: the message says why."""


def parse_every(text: str) -> int:
    """``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` or plain seconds (``"300"``) as seconds."""
    match = _EVERY.match(text) if isinstance(text, str) else None
    if match is None:
        raise ScheduleError(f"every must look like 30s, 5m, 2h or 1d, got {text!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ScheduleError(f"every must be between 1s and 366d, got {text!r}")
    return seconds


def parse_cron(text: str) -> dict[str, str]:
    """A five-field cron expression (minute hour day-of-month month day-of-week)."""
    fields = text.split() if isinstance(text, str) else []
    if len(fields) != 5:
        raise ScheduleError(
            f"cron must have five fields (minute hour day-of-month month day-of-week), got {text!r}"
        )
    parts = dict(
        zip(["minute", "hour", "day_of_month", "month_of_year", "day_of_week"], fields, strict=True)
    )
    try:
        celery_crontab(**parts)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ScheduleError(f"cron {text!r} is not valid: {exc}") from None
    return parts


def default_name(definition_name: str, every: str | None, cron: str | None) -> str:
    if every is not None:
        return f"{definition_name}-every-{every.strip()}"
    digest = hashlib.sha1(str(cron).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{definition_name}-cron-{digest}"


def create_schedule(
    definition_name: str,
    *,
    every: str | None = None,
    cron: str | None = None,
    name: str | None = None,
    enabled: bool = True,
    payload: dict[str, Any] | None = None,
) -> PeriodicTask:
    """Store a schedule that starts ``definition_name``; ``ScheduleError`` if it cannot."""
    from apps.orchestration.defaults import resolve_definition

    if (every is None) == (cron is None):
        raise ScheduleError("give exactly one of every (e.g. 5m) or cron (e.g. '*/5 * * * *')")
    if resolve_definition(definition_name, active_only=False) is None:
        raise ScheduleError(f"Pipeline definition not found: {definition_name}")
    name = name or default_name(definition_name, every, cron)
    if PeriodicTask.objects.filter(name=name).exists():
        raise ScheduleError(f"A schedule named {name!r} already exists")
    kwargs: dict[str, Any] = {"schedule": name}
    if payload:
        kwargs["payload"] = payload
    with transaction.atomic():
        if every is not None:
            seconds = parse_every(every)
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            kwargs["slot_seconds"] = seconds
            when: dict[str, Any] = {"interval": interval}
        else:
            parts = parse_cron(str(cron))
            schedule, _ = CrontabSchedule.objects.get_or_create(**parts, timezone="UTC")
            kwargs["slot_seconds"] = CRON_SLOT_SECONDS
            when = {"crontab": schedule}
        return PeriodicTask.objects.create(
            name=name,
            task=TASK_NAME,
            args=json.dumps([definition_name]),
            kwargs=json.dumps(kwargs),
            enabled=enabled,
            description=f"Starts pipeline {definition_name}",
            **when,
        )


def pipeline_schedules() -> Any:
    return PeriodicTask.objects.filter(task=TASK_NAME).select_related("interval", "crontab")


def list_schedules(definition_name: str | None = None) -> list[PeriodicTask]:
    tasks = list(pipeline_schedules().order_by("name"))
    if definition_name is not None:
        tasks = [t for t in tasks if schedule_definition(t) == definition_name]
    return tasks


def delete_schedule(name: str) -> bool:
    """Delete the pipeline schedule called ``name``; False if there is none."""
    deleted, _ = pipeline_schedules().filter(name=name).delete()
    return bool(deleted)


def schedule_definition(task: PeriodicTask) -> str:
    try:
        args = json.loads(task.args or "[]")
    except ValueError:
        return ""
    return str(args[0]) if isinstance(args, list) and args else ""


def describe_schedule(task: PeriodicTask) -> dict[str, Any]:
    every = cron = None
    if task.interval is not None:
        every = _format_seconds(task.interval.every * _period_seconds(task.interval.period))
    if task.crontab is not None:
        c = task.crontab
        cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
    return {
        "name": task.name,
        "definition": schedule_definition(task),
        "every": every,
        "cron": cron,
        "enabled": task.enabled,
        "last_run_at": task.last_run_at.isoformat() if task.last_run_at else None,
        "total_run_count": task.total_run_count,
        "date_changed": task.date_changed.isoformat() if task.date_changed else None,
    }


def _period_seconds(period: str) -> int:
    return {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(period, 1)


def _format_seconds(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def slot_start(now: datetime, slot_seconds: int) -> datetime:
    """The start of the slot ``now`` falls in. Beat spaces firings at least one period apart,
    so two real firings never share a slot; a duplicate of one firing does."""
    size = max(int(slot_seconds), 1)
    epoch = int(now.timestamp()) // size * size
    return datetime.fromtimestamp(epoch, tz=UTC)


def start_scheduled(
    definition_name: str,
    *,
    payload: dict | None = None,
    environment: str = "production",
    schedule: str | None = None,
    slot_seconds: int | None = None,
    now: datetime | None = None,
) -> str | None:
    """Start ``definition_name`` for one firing of ``schedule``; the run id, the id of the run
    this slot already started, or None (logged) when the definition is missing or inactive."""
    from apps.orchestration.defaults import resolve_definition
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import ScheduleSlot

    definition = resolve_definition(definition_name, active_only=True)
    if definition is None:
        logger.error("scheduled pipeline %r does not exist or is inactive", definition_name)
        return None
    orchestrator = DefinitionBasedOrchestrator(definition)
    start = {"payload": payload or {}, "source": "schedule", "environment": environment}
    if not schedule:
        return orchestrator.start(**start).run_id
    slot = slot_start(now or timezone.now(), slot_seconds or CRON_SLOT_SECONDS)
    try:
        # The claim and the run commit together: a duplicate firing waits on the claim,
        # then finds it taken.
        with transaction.atomic():
            claim = ScheduleSlot.objects.create(schedule=schedule, slot_start=slot)
            run = orchestrator.start(**start)
            ScheduleSlot.objects.filter(pk=claim.pk).update(run_id=run.run_id)
    except IntegrityError:
        earlier = ScheduleSlot.objects.filter(schedule=schedule, slot_start=slot).first()
        logger.info(
            "schedule %s slot %s already started run %s",
            schedule,
            slot.isoformat(),
            earlier.run_id if earlier else "?",
        )
        return earlier.run_id if earlier else None
    return run.run_id
