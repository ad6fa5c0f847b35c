"""Apply a plan all-or-nothing: the database records in one transaction, the ``.env`` file by
one rename made just before that transaction commits.

An error or Ctrl-C while the records are written rolls the transaction back and drops the
prepared file. From the rename to the commit, Ctrl-C and SIGTERM wait (the ``InterruptGate``):
both happen or neither does, and if the commit itself fails the previous file is put back.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.notify.models import NotificationChannel
from apps.orchestration import schedules
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard import envwriter
from apps.orchestration.setup_wizard.plan import Plan, PlanError

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Applied:
    definition: PipelineDefinition
    channels: list[NotificationChannel]
    schedule: schedules.Schedule | None = None
    env_written: bool = False
    # Ctrl-C arrived while the changes were being committed; they were applied, then it
    # was honoured.
    interrupted: bool = False
    retired: list[str] = field(default_factory=list)


class InterruptGate:
    """While installed, SIGINT/SIGTERM raise ``KeyboardInterrupt`` as usual, except after
    ``hold()``: then they are only recorded (``interrupted``) until the gate is left."""

    def __init__(self) -> None:
        self.holding = False
        self.interrupted = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.interrupted = True
            return
        raise KeyboardInterrupt

    def hold(self) -> None:
        self.holding = True

    def __enter__(self) -> InterruptGate:
        # Signal handlers can only be set from the main thread; elsewhere nothing is gated.
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def apply_plan(command: Any, plan: Plan, config: dict[str, Any]) -> Applied:
    """Write every record of ``plan`` and its ``.env`` updates, or nothing.

    ``command`` provides the seed's ``_create_pipeline_definition`` and
    ``_create_notification_channels``.
    """
    with InterruptGate() as gate:
        pending = None
        try:
            if plan.env_updates and plan.env_path is not None:
                pending = envwriter.prepare(plan.env_path, plan.env_updates)
            with transaction.atomic():
                applied = _write_records(command, plan, config)
                gate.hold()
                if pending is not None:
                    pending.commit()
                    applied.env_written = True
        except BaseException:
            if pending is not None:
                pending.restore()
            raise
        applied.interrupted = gate.interrupted
        return applied


def _write_records(command: Any, plan: Plan, config: dict[str, Any]) -> Applied:
    # The plan was checked before the confirmation; a reused channel removed since then
    # would leave the pipeline notifying nobody.
    still_there = set(
        NotificationChannel.objects.select_for_update()
        .filter(name__in=plan.reused_channels, is_active=True)
        .values_list("name", flat=True)
    )
    gone = [name for name in plan.reused_channels if name not in still_there]
    if gone:
        raise PlanError(
            [f"channel {name!r} cannot be reused: it was deleted or deactivated" for name in gone]
        )
    retired = [d.pk for d in plan.deactivate_definitions]
    PipelineDefinition.objects.filter(pk__in=retired).update(
        is_active=False, updated_at=timezone.now()
    )
    for name in plan.delete_schedules_of:
        schedules.delete_schedules_for(name)
    NotificationChannel.objects.filter(pk__in=[c.pk for c in plan.deactivate_channels]).update(
        is_active=False
    )
    channels = command._create_notification_channels(
        [
            {"driver": s.driver, "name": s.name, "config": s.config, "update_id": s.update_id}
            for s in plan.channels
        ]
    )
    definition = command._create_pipeline_definition(
        {**config, "pipeline_config": plan.pipeline_config, "tags": plan.tags},
        name=plan.definition_name,
        replace=plan.update_definition,
    )
    schedule = None
    if plan.schedule is not None:
        schedule = schedules.create_schedule(
            definition.name,
            every=plan.schedule.get("every"),
            cron=plan.schedule.get("cron"),
            description="[setup_wizard] health checks",
        )
    return Applied(
        definition=definition,
        channels=channels,
        schedule=schedule,
        retired=[d.name for d in plan.deactivate_definitions],
    )
