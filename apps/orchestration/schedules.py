"""Beat schedules that start pipeline definitions.

One service for every writer of schedules (the ``setup_instance`` wizard, the REST API, the
``schedule_pipeline`` command): a schedule is a django-celery-beat ``PeriodicTask`` running the
task ``orchestration.run_scheduled_pipeline`` with the definition's name as its only argument,
so beat (``celery -A workers beat``, ``DatabaseScheduler``) fires it and the admin lists it
under *Periodic tasks*.

::

    from apps.orchestration import schedules

    schedules.create_schedule("health-checks", every="5m")
    schedules.create_schedule("nightly-report", cron="0 3 * * *", environment="staging")
    [s.when for s in schedules.list_schedules("health-checks")]    # ["every 5m"]
    schedules.set_enabled("health-checks every 5m", False)
    schedules.delete_schedule("health-checks every 5m")

Every function raises ``ScheduleError`` (a ``ValueError``) with a message meant for the
operator: a bad duration or cron expression, a definition that does not exist, a name that is
taken or unknown. Writes join the caller's transaction.

Built-in definitions (``health-check``) can be scheduled by name. Beat firing one slot twice
(two beat processes, a re-sent message) starts one run: each schedule hands the task its name
and slot length, and ``start_scheduled`` claims ``(schedule, slot start)`` in the run's
transaction.
"""

from __future__ import annotations

import json
import logging
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.validators import crontab_validator

from apps.orchestration.models import PipelineDefinition

logger = logging.getLogger(__name__)

TASK_NAME = "orchestration.run_scheduled_pipeline"
# An interval run nobody picked up within one interval is dropped, not piled up behind the
# next one (workers down for an hour must not start sixty health checks at once); at least
# this long, so a busy worker still gets to a short interval's run.
MIN_EXPIRY_SECONDS = 60

CRON_SLOT_SECONDS = 60  # cron's smallest step is a minute
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+)\s*([dhms])")
# IntervalSchedule periods, coarsest first: a schedule is stored in the largest exact unit.
_PERIODS = (
    (IntervalSchedule.DAYS, 86400),
    (IntervalSchedule.HOURS, 3600),
    (IntervalSchedule.MINUTES, 60),
    (IntervalSchedule.SECONDS, 1),
)


class ScheduleError(ValueError):
    """A schedule that cannot be created, found or changed; the message says why."""


@dataclass(frozen=True)
class Schedule:
    """A pipeline schedule as callers see it (never the beat model itself)."""

    id: int
    name: str
    definition_name: str
    every: timedelta | None
    cron: str | None
    timezone: str | None
    enabled: bool
    environment: str
    payload: dict[str, Any]
    description: str
    last_run_at: datetime | None
    total_run_count: int
    changed_at: datetime | None

    @property
    def when(self) -> str:
        """``every 5m`` or ``cron 0 3 * * * (UTC)``."""
        if self.every is not None:
            return f"every {format_every(self.every)}"
        return f"cron {self.cron} ({self.timezone})"


def parse_every(text: str | timedelta) -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"1d"`` or combinations (``"1h30m"``) as a timedelta.

    Raises ``ScheduleError`` for anything else, and for durations under one second.
    """
    if isinstance(text, timedelta):
        delta = text
    else:
        compact = str(text).strip().lower().replace(" ", "")
        parts = _DURATION.findall(compact)
        if not compact or "".join(n + u for n, u in parts) != compact:
            raise ScheduleError(
                f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 5m, 1h, 1d "
                "or 1h30m"
            )
        delta = timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
    if delta.total_seconds() < 1 or delta.total_seconds() != int(delta.total_seconds()):
        raise ScheduleError(f"{text!r}: a schedule runs at most once a second, in whole seconds")
    return delta


def format_every(delta: timedelta) -> str:
    """The ``parse_every`` spelling of ``delta``: ``5m``, ``1h30m`` (90 seconds: ``1m30s``)."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_cron(expression: str) -> tuple[str, str, str, str, str]:
    """The five fields (minute, hour, day of month, month, day of week) of a cron expression.

    Raises ``ScheduleError`` naming the problem for anything else.
    """
    fields = str(expression).split()
    if len(fields) != 5:
        raise ScheduleError(
            f"{expression!r} is not a cron expression: it needs 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '*/5 * * * *'"
        )
    try:
        crontab_validator(" ".join(fields))
    except ValidationError as exc:
        raise ScheduleError(f"{expression!r}: {' '.join(exc.messages)}") from None
    return fields[0], fields[1], fields[2], fields[3], fields[4]


def default_name(definition_name: str, *, every: str | timedelta | None, cron: str | None) -> str:
    """``"<definition> every 5m"`` or ``"<definition> cron 0 3 * * *"``."""
    if every is not None:
        return f"{definition_name} every {format_every(parse_every(every))}"
    return f"{definition_name} cron {' '.join(parse_cron(cron or ''))}"


def create_schedule(
    definition_name: str,
    *,
    every: str | timedelta | None = None,
    cron: str | None = None,
    name: str | None = None,
    payload: dict[str, Any] | None = None,
    environment: str = "production",
    enabled: bool = True,
    description: str = "",
) -> Schedule:
    """Schedule the active definition ``definition_name`` every ``every`` or on ``cron``.

    Exactly one of ``every`` (see ``parse_every``) and ``cron`` (five fields, in
    ``CELERY_TIMEZONE``). ``name`` defaults to ``default_name(...)`` and must be unused.
    ``payload`` and ``environment`` are handed to each run.
    """
    if (every is None) == (cron is None):
        raise ScheduleError("give exactly one of every (e.g. 5m) and cron (e.g. '*/5 * * * *')")
    from apps.orchestration.defaults import builtin_definition

    definition = PipelineDefinition.objects.filter(
        name=definition_name
    ).first() or builtin_definition(definition_name)
    if definition is None:
        raise ScheduleError(f"pipeline definition {definition_name!r} does not exist")
    if not definition.is_active:
        raise ScheduleError(f"pipeline definition {definition_name!r} is inactive")
    if payload is not None and not isinstance(payload, dict):
        raise ScheduleError("payload must be a JSON object")
    name = (name or default_name(definition_name, every=every, cron=cron)).strip()
    if not name:
        raise ScheduleError("a schedule needs a name")
    if PeriodicTask.objects.filter(name=name).exists():
        raise ScheduleError(f"a schedule named {name!r} already exists")

    slot = int(parse_every(every).total_seconds()) if every is not None else CRON_SLOT_SECONDS
    kwargs = {
        "payload": payload or {},
        "environment": environment,
        # What start_scheduled needs to start one run per firing slot.
        "schedule": name,
        "slot_seconds": slot,
    }
    task = PeriodicTask(
        name=name,
        task=TASK_NAME,
        args=json.dumps([definition_name]),
        kwargs=json.dumps(kwargs),
        enabled=enabled,
        description=description,
    )
    if every is not None:
        delta = parse_every(every)
        task.interval = _interval(delta)
        task.expire_seconds = max(int(delta.total_seconds()), MIN_EXPIRY_SECONDS)
    else:
        task.crontab = _crontab(cron or "")
    task.save()
    return _to_schedule(task)


def list_schedules(definition_name: str | None = None) -> list[Schedule]:
    """Every pipeline schedule (of ``definition_name`` only, when given), by name."""
    tasks = PeriodicTask.objects.filter(task=TASK_NAME).select_related("interval", "crontab")
    found = [_to_schedule(task) for task in tasks.order_by("name")]
    if definition_name is None:
        return found
    return [s for s in found if s.definition_name == definition_name]


def get_schedule(name: str) -> Schedule:
    return _to_schedule(_task(name))


def set_enabled(name: str, enabled: bool) -> Schedule:
    """Switch a schedule on or off (beat notices within its sync interval)."""
    task = _task(name)
    task.enabled = enabled
    task.save()
    return _to_schedule(task)


def delete_schedule(name: str) -> None:
    # Instance delete, not a queryset one: it tells a running beat that schedules changed.
    _task(name).delete()


def delete_schedules_for(definition_name: str) -> int:
    """Delete every schedule of ``definition_name``; returns how many there were."""
    schedules = list_schedules(definition_name)
    for schedule in schedules:
        delete_schedule(schedule.name)
    return len(schedules)


def _task(name: str) -> PeriodicTask:
    task = PeriodicTask.objects.filter(name=name, task=TASK_NAME).first()
    if task is None:
        raise ScheduleError(f"no pipeline schedule named {name!r}")
    return task


def _interval(delta: timedelta) -> IntervalSchedule:
    seconds = int(delta.total_seconds())
    period, size = next((p, s) for p, s in _PERIODS if seconds % s == 0)
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds // size, period=period)
    return interval


def _crontab(expression: str) -> CrontabSchedule:
    minute, hour, day_of_month, month_of_year, day_of_week = parse_cron(expression)
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=zoneinfo.ZoneInfo(settings.CELERY_TIMEZONE or "UTC"),
    )
    return crontab


def _to_schedule(task: PeriodicTask) -> Schedule:
    args = _json(task.args, [])
    kwargs = _json(task.kwargs, {})
    every = cron = timezone = None
    if task.interval is not None:
        size = dict(_PERIODS).get(task.interval.period, 1)
        every = timedelta(seconds=task.interval.every * size)
    elif task.crontab is not None:
        c = task.crontab
        cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
        timezone = str(c.timezone)
    return Schedule(
        id=task.pk,
        name=task.name,
        definition_name=str(args[0]) if isinstance(args, list) and args else "",
        every=every,
        cron=cron,
        timezone=timezone,
        enabled=task.enabled,
        environment=str(kwargs.get("environment") or "production"),
        payload=kwargs.get("payload") if isinstance(kwargs.get("payload"), dict) else {},
        description=task.description,
        last_run_at=task.last_run_at,
        total_run_count=task.total_run_count,
        changed_at=task.date_changed,
    )


def _json(text: str | None, default: Any) -> Any:
    # Rows edited by hand in the admin may hold anything; show them rather than crash a list.
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def slot_start(now: datetime, slot_seconds: int) -> datetime:
    """The start of the slot ``now`` falls in. Beat spaces a schedule's firings at least one
    period apart, so two real firings never share a slot; a duplicate of one firing does."""
    size = max(int(slot_seconds), 1)
    return datetime.fromtimestamp(int(now.timestamp()) // size * size, tz=UTC)


def start_scheduled(
    definition_name: str,
    *,
    payload: dict | None = None,
    environment: str = "production",
    schedule: str | None = None,
    slot_seconds: int | None = None,
    now: datetime | None = None,
) -> str | None:
    """Start ``definition_name`` (saved and active, or built-in) for one firing of
    ``schedule``: the new run's id, the id of the run this slot already started, or None
    (logged) when the definition is missing or inactive. Without ``schedule`` (a manual
    call, a schedule stored before slots existed) every call starts a run."""
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
    slot = slot_start(now or django_timezone.now(), slot_seconds or CRON_SLOT_SECONDS)
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
