"""What an earlier run of the wizard left: its definitions, channels and schedules.

Wizard definitions carry the tag ``setup_wizard`` (tags are a JSON list); they are found in
Python rather than with a JSON ``contains`` lookup, which SQLite (the embedded default) lacks.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from apps.notify.models import NotificationChannel
from apps.orchestration import schedules
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard.channels import WIZARD_MARK
from apps.orchestration.setup_wizard.pipeline import (
    channels_of,
    checkers_of,
    describe_chain,
    node_of_type,
)

TAG = "setup_wizard"


def is_wizard_definition(definition: PipelineDefinition) -> bool:
    tags = definition.tags
    return isinstance(tags, list | dict) and TAG in tags


def is_wizard_channel(channel: NotificationChannel) -> bool:
    return channel.description.startswith(WIZARD_MARK)


def wizard_definitions(*, active: bool | None = True) -> list[PipelineDefinition]:
    """Wizard definitions, most recently changed first."""
    rows = PipelineDefinition.objects.order_by("-updated_at", "-pk")
    if active is not None:
        rows = rows.filter(is_active=active)
    return [d for d in rows if is_wizard_definition(d)]


def detect_existing() -> PipelineDefinition | None:
    """The active wizard definition changed last, or None."""
    found = wizard_definitions()
    return found[0] if found else None


def active_channels() -> list[NotificationChannel]:
    return list(NotificationChannel.objects.filter(is_active=True).order_by("name"))


def channels_in_use(exclude: Iterable[int] = ()) -> set[str]:
    """Channel names the notify nodes of active definitions (but ``exclude``) name."""
    excluded = set(exclude)
    used: set[str] = set()
    for definition in PipelineDefinition.objects.filter(is_active=True):
        if definition.pk not in excluded:
            used.update(channels_of(definition.config))
    return used


def channels_replaced_by_reconfigure(
    existing: PipelineDefinition, keep: Iterable[str] = ()
) -> list[NotificationChannel]:
    """Active wizard channels that "reconfigure" retires: not kept (reused) and not named by
    any other active definition, which would otherwise lose its channel."""
    kept = set(keep) | channels_in_use(exclude=[existing.pk])
    return [c for c in active_channels() if is_wizard_channel(c) and c.name not in kept]


def describe(definition: PipelineDefinition) -> list[str]:
    """Lines that tell an operator what the wizard set up before."""
    config = definition.config if isinstance(definition.config, dict) else {}
    created = timezone.localtime(definition.created_at).strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f'  Pipeline: "{definition.name}" (v{definition.version}), created {created}'
        f" by {definition.created_by or 'unknown'}",
        f"  Nodes: {describe_chain(config)}",
    ]
    checkers = checkers_of(config)
    if checkers:
        lines.append(f"  Checkers: {', '.join(checkers)}")
    intelligence = node_of_type(config, "intelligence")
    if intelligence:
        node_config = intelligence.get("config") or {}
        model = (node_config.get("provider_config") or {}).get("model")
        provider = node_config.get("provider", "?")
        lines.append(f"  Provider: {provider}" + (f" ({model})" if model else ""))
    names = channels_of(config)
    if names:
        rows = {c.name: c for c in NotificationChannel.objects.filter(name__in=names)}
        described = []
        for name in names:
            channel = rows.get(name)
            if channel is None:
                described.append(f"{name} (missing)")
            else:
                state = "active" if channel.is_active else "inactive"
                described.append(f"{name} ({channel.driver}, {state})")
        lines.append(f"  Channels: {', '.join(described)}")
    for schedule in schedules.list_schedules(definition.name):
        state = "on" if schedule.enabled else "off"
        lines.append(f"  Schedule: {schedule.when} ({state})")
    others = len(wizard_definitions()) - 1
    if others > 0:
        lines.append(f"  ({others} other active wizard pipeline(s) exist)")
    return lines
