"""From the wizard's answers to a plan: every record and ``.env`` line it will write.

The plan is built and checked before anything is written (the driver validates each channel
config, the orchestration validator the whole definition); ``--dry-run`` shows it, the
confirmation applies it (``apply.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.checkers.checkers import CHECKER_REGISTRY
from apps.notify.models import NotificationChannel
from apps.orchestration import schedules
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard import envwriter
from apps.orchestration.setup_wizard.channels import config_problems, name_problem
from apps.orchestration.setup_wizard.existing import (
    TAG,
    channels_replaced_by_reconfigure,
    is_wizard_channel,
    is_wizard_definition,
    wizard_definitions,
)
from apps.orchestration.setup_wizard.pipeline import build_pipeline_config, checkers_of
from apps.orchestration.validation import validate_config

# Where each provider's API key goes; keys never enter the definition.
API_KEY_SETTINGS = {"openai": "OPENAI_API_KEY", "claude": "ANTHROPIC_API_KEY"}
SECRET_ENV_KEYS = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CELERY_BROKER_URL"}


class PlanError(ValueError):
    """The answers cannot be applied; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class ChannelSpec:
    """A channel to create, or (``update_id``) a retired one to rewrite and reactivate."""

    driver: str
    name: str
    config: dict[str, Any]
    update_id: int | None = None


@dataclass
class Plan:
    definition_name: str
    pipeline_config: dict[str, Any]
    tags: list[str]
    update_definition: PipelineDefinition | None = None
    deactivate_definitions: list[PipelineDefinition] = field(default_factory=list)
    channels: list[ChannelSpec] = field(default_factory=list)
    reused_channels: list[str] = field(default_factory=list)
    deactivate_channels: list[NotificationChannel] = field(default_factory=list)
    schedule: dict[str, str] | None = None
    delete_schedules_of: list[str] = field(default_factory=list)
    env_path: Path | None = None
    env_updates: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def build_plan(
    config: dict[str, Any],
    *,
    action: str | None,
    existing: PipelineDefinition | None,
    env_path: Path,
) -> Plan:
    """The plan for ``config``; ``PlanError`` lists every problem found."""
    problems: list[str] = []
    replaced = existing if action == "reconfigure" else None
    preset = config["preset"]
    name, update = _definition_target(preset["name"], replaced)
    pipeline_config = build_pipeline_config(config)
    problems += [f"pipeline: {p}" for p in validate_config(pipeline_config)]
    tags = [TAG, f"preset:{preset['name']}"]
    tags += [f"source:{source}" for source in config.get("alerts") or []]
    plan = Plan(
        definition_name=name,
        pipeline_config=pipeline_config,
        tags=tags,
        update_definition=update,
        env_path=env_path,
    )
    if replaced is not None and (update is None or update.pk != replaced.pk):
        plan.deactivate_definitions.append(replaced)
    # Schedules of what is replaced or revived would fire the new pipeline twice, or an
    # inactive one forever.
    for row in (replaced, update):
        if row is not None and row.name not in plan.delete_schedules_of:
            plan.delete_schedules_of.append(row.name)

    reused = list(config.get("reuse_channels") or [])
    retired = channels_replaced_by_reconfigure(replaced, reused) if replaced else []
    problems += _plan_channels(plan, config, reused, retired)

    schedule = config.get("schedule") or {}
    if preset.get("standalone"):
        problems += _plan_schedule(plan, schedule)

    plan.env_updates = _env_updates(config, plan)
    for key, value in plan.env_updates.items():
        try:
            envwriter.format_value(value)
        except envwriter.EnvFileError as exc:
            problems.append(f"{key}: {exc}")
    plan.warnings += _shadowed(plan.env_updates, env_path)
    if problems:
        raise PlanError(problems)
    return plan


def _definition_target(
    base: str, replaced: PipelineDefinition | None
) -> tuple[str, PipelineDefinition | None]:
    """The name to save under, and the row to rewrite in place (None: create one).

    The replaced definition, or a retired wizard definition of the same name, is rewritten
    (its version goes up, its runs keep their frozen config); anything else of that name is
    someone else's, so a free ``-2``, ``-3``, ... name is used instead.
    """
    row = PipelineDefinition.objects.filter(name=base).first()
    if row is None:
        return base, None
    if (replaced is not None and row.pk == replaced.pk) or (
        not row.is_active and is_wizard_definition(row)
    ):
        return base, row
    number = 2
    while PipelineDefinition.objects.filter(name=f"{base}-{number}").exists():
        number += 1
    return f"{base}-{number}", None


def _plan_channels(
    plan: Plan,
    config: dict[str, Any],
    reused: list[str],
    retired: list[NotificationChannel],
) -> list[str]:
    problems: list[str] = []
    active = {c.name: c for c in NotificationChannel.objects.filter(is_active=True)}
    for name in reused:
        if name not in active:
            problems.append(f"channel {name!r} cannot be reused: no active channel has that name")
    plan.reused_channels = [name for name in reused if name in active]
    retired_ids = {c.pk for c in retired}
    chosen: set[str] = set(reused)
    for entry in config.get("notify") or []:
        driver, name = entry.get("driver", ""), str(entry.get("name", "")).strip()
        label = f"channel {name or '?'} ({driver})"
        problems += [f"{label}: {p}" for p in config_problems(driver, entry.get("config") or {})]
        row = NotificationChannel.objects.filter(name=name).first()
        replaceable = row is not None and (
            row.pk in retired_ids or (not row.is_active and is_wizard_channel(row))
        )
        taken = chosen | ({name} if row is not None and not replaceable else set())
        problem = name_problem(name, taken)
        if problem:
            problems.append(f"{label}: {problem}")
        chosen.add(name)
        plan.channels.append(
            ChannelSpec(
                driver=driver,
                name=name,
                config=dict(entry.get("config") or {}),
                update_id=row.pk if replaceable and row is not None else None,
            )
        )
    if not plan.channels and not plan.reused_channels:
        problems.append("no notification channel: configure one or reuse an existing one")
    rewritten = {spec.update_id for spec in plan.channels}
    plan.deactivate_channels = [c for c in retired if c.pk not in rewritten]
    return problems


def _plan_schedule(plan: Plan, schedule: dict[str, Any]) -> list[str]:
    every, cron = schedule.get("every"), schedule.get("cron")
    try:
        if every:
            plan.schedule = {"every": schedules.format_every(schedules.parse_every(every))}
        elif cron:
            plan.schedule = {"cron": " ".join(schedules.parse_cron(cron))}
        else:
            return ["a scheduled preset needs how often to run (every or cron)"]
    except schedules.ScheduleError as exc:
        return [f"schedule: {exc}"]
    if not (schedule.get("broker_url") or settings.CELERY_BROKER_URL):
        plan.warnings.append(
            "No Celery broker is configured: the schedule fires only once CELERY_BROKER_URL is "
            "set and beat and a worker run (make up)."
        )
    return []


def _env_updates(config: dict[str, Any], plan: Plan) -> dict[str, str]:
    updates: dict[str, str] = {}
    file_values = envwriter.read_values(plan.env_path) if plan.env_path else {}
    retired = {d.name for d in plan.deactivate_definitions}
    alerts = list(config.get("alerts") or [])
    if alerts or retired:
        current = _mapping(file_values.get("ALERTS_SOURCE_PIPELINES"))
        if "ALERTS_SOURCE_PIPELINES" not in file_values:
            current = dict(settings.ALERTS_SOURCE_PIPELINES)
        mapping = {
            source: target
            for source, target in current.items()
            if target not in retired and target != plan.definition_name
        }
        mapping.update({source: plan.definition_name for source in alerts})
        if mapping != current:
            updates["ALERTS_SOURCE_PIPELINES"] = ",".join(f"{k}={v}" for k, v in mapping.items())
        default = file_values.get("ALERTS_DEFAULT_PIPELINE", settings.ALERTS_DEFAULT_PIPELINE)
        if default and default in retired:
            # A default naming an inactive definition would turn every unmapped webhook away.
            updates["ALERTS_DEFAULT_PIPELINE"] = plan.definition_name if alerts else ""
    if config.get("checkers"):
        updates["CHECKERS_SKIP"] = ",".join(_unused_checkers(plan))
    intelligence = config.get("intelligence") or {}
    key_setting = API_KEY_SETTINGS.get(intelligence.get("provider", ""))
    if key_setting and intelligence.get("api_key"):
        updates[key_setting] = intelligence["api_key"]
    broker = (config.get("schedule") or {}).get("broker_url")
    if broker:
        updates["CELERY_BROKER_URL"] = broker
    return updates


def _unused_checkers(plan: Plan) -> list[str]:
    """Checkers no active wizard pipeline runs once the plan is applied (``CHECKERS_SKIP``):
    a checker another wizard pipeline uses must not be switched off under it."""
    leaving = {d.pk for d in plan.deactivate_definitions}
    if plan.update_definition is not None:
        leaving.add(plan.update_definition.pk)
    used = set(checkers_of(plan.pipeline_config))
    for definition in wizard_definitions():
        if definition.pk not in leaving:
            used.update(checkers_of(definition.config))
    return [name for name in CHECKER_REGISTRY if name not in used]


def _mapping(raw: str | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in (raw or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip() and value.strip():
            result[key.strip()] = value.strip()
    return result


def _shadowed(updates: dict[str, str], env_path: Path | None) -> list[str]:
    """Keys this process's environment sets to something else: the environment wins over
    the file, so the new value would not take effect until the variable is unset."""
    file_values = envwriter.read_values(env_path) if env_path else {}
    return [
        f"{key} is set in the environment, which wins over {env_path}: unset it there for the "
        "new value to take effect."
        for key, value in updates.items()
        if os.environ.get(key, value) not in (value, file_values.get(key))
    ]
