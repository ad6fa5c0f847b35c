"""What the wizard shows before it asks to apply: the answers, then the records and ``.env``
lines they become. Secrets are never shown: channel configs go through their driver's mask,
API keys and the broker URL print as ``****``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apps.orchestration.setup_wizard.channels import masked
from apps.orchestration.setup_wizard.pipeline import CHECKER_ANSWERS, describe_chain
from apps.orchestration.setup_wizard.plan import SECRET_ENV_KEYS, Plan

MASK = "****"


def mask_url(url: str) -> str:
    """``url`` with its password (``redis://:secret@host``) masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def shown_env_value(key: str, value: str) -> str:
    if key == "CELERY_BROKER_URL":
        return mask_url(value)
    return MASK if key in SECRET_ENV_KEYS and value else value


def show_summary(command: Any, config: dict[str, Any]) -> None:
    """The answers (the seed's ``_show_summary``)."""
    out, style = command.stdout, command.style
    out.write(style.HTTP_INFO("\n--- Summary ---"))
    preset = config["preset"]
    label = preset.get("label") or preset["name"]
    out.write(f"  Pipeline: {label} ({preset['name']})")
    if config.get("alerts"):
        out.write(f"  Alert drivers: {', '.join(config['alerts'])}")
    checkers = config.get("checkers")
    if checkers:
        parts = []
        for name in checkers.get("enabled") or []:
            detail = next(
                (checkers.get(key) for key, checker, _ in CHECKER_ANSWERS if checker == name),
                None,
            )
            parts.append(f"{name} ({detail})" if detail else name)
        out.write(f"  Checkers: {', '.join(parts)}")
    schedule = config.get("schedule")
    if schedule:
        when = f"every {schedule['every']}" if schedule.get("every") else schedule.get("cron")
        notify = (
            "only when a check is not ok"
            if schedule.get("notify_when", "problems") == "problems"
            else "after every run"
        )
        out.write(f"  Schedule: {when}, notify {notify}")
        if schedule.get("broker_url"):
            out.write(f"  Celery broker: {mask_url(schedule['broker_url'])}")
    intelligence = config.get("intelligence")
    if intelligence:
        info = intelligence["provider"]
        if intelligence.get("model"):
            info += f" ({intelligence['model']})"
        if intelligence.get("base_url"):
            info += f" at {intelligence['base_url']}"
        if intelligence.get("api_key"):
            info += f", API key {MASK}"
        out.write(f"  Intelligence: {info}")
    for name in config.get("reuse_channels") or []:
        out.write(f"  Notification: {name} (existing channel, reused)")
    for channel in config.get("notify") or []:
        line = f"  Notification: {channel['driver']} ({channel['name']})"
        if channel.get("config"):
            line += f" {json.dumps(masked(channel['driver'], channel['config']))}"
        out.write(line)


def show_plan(command: Any, plan: Plan) -> None:
    """The records and ``.env`` lines applying will write."""
    out, style = command.stdout, command.style
    out.write(style.HTTP_INFO("\n--- Changes ---"))
    verb = "update" if plan.update_definition is not None else "create"
    out.write(f'  Definition: {verb} "{plan.definition_name}" (tags: {", ".join(plan.tags)})')
    out.write(f"    {describe_chain(plan.pipeline_config)}")
    for definition in plan.deactivate_definitions:
        out.write(f'  Deactivate definition "{definition.name}"')
    for name in plan.delete_schedules_of:
        out.write(f'  Remove the schedules of "{name}"')
    for spec in plan.channels:
        verb = "rewrite" if spec.update_id else "create"
        out.write(f"  Channel: {verb} {spec.name} ({spec.driver})")
    for name in plan.reused_channels:
        out.write(f"  Channel: reuse {name}")
    for channel in plan.deactivate_channels:
        out.write(f"  Channel: deactivate {channel.name} ({channel.driver})")
    if plan.schedule:
        when = plan.schedule.get("every") or plan.schedule.get("cron")
        kind = "every" if plan.schedule.get("every") else "cron"
        out.write(f"  Schedule: {kind} {when} (celery beat)")
    if plan.env_updates:
        out.write(f"  {plan.env_path}:")
        for key, value in plan.env_updates.items():
            out.write(f"    {key}={shown_env_value(key, value)}")
    for warning in plan.warnings:
        out.write(style.WARNING(f"  ! {warning}"))
