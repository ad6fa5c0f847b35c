"""What the wizard asks for each notification driver, in the driver's own config keys.

Answers are checked by the driver's ``validate_config`` before the wizard moves on, so a
channel that could not send is caught while the operator is still at the keyboard. A driver
added to ``DRIVER_REGISTRY`` without an entry here is still offered: its config is asked for
as one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.notify.drivers import DRIVER_REGISTRY, get_driver

WIZARD_MARK = "[setup_wizard]"
NAME_MAX_LENGTH = 100  # NotificationChannel.name


@dataclass(frozen=True)
class Field:
    """One question: the config key it fills, its prompt and its command-line flag."""

    key: str
    prompt: str
    flag: str
    default: str | None = None
    required: bool = True
    secret: bool = False
    only_if: str | None = None  # asked only when this earlier answer is not empty


DRIVER_FIELDS: dict[str, tuple[Field, ...]] = {
    "email": (
        Field("smtp_host", "    SMTP host", "--email-smtp-host"),
        Field("smtp_port", "    SMTP port", "--email-smtp-port", default="587"),
        # Optional: a local relay on port 25 takes mail without a login.
        Field("smtp_user", "    SMTP user (empty for none)", "--email-smtp-user", required=False),
        Field(
            "smtp_password",
            "    SMTP password",
            "--email-smtp-password",
            secret=True,
            only_if="smtp_user",
        ),
        Field("smtp_from", "    From address", "--email-from"),
        Field("smtp_to", "    To address", "--email-to"),
    ),
    # The webhook URL's path is the credential: whoever has it can post to the channel.
    "slack": (Field("webhook_url", "    Slack webhook URL", "--slack-webhook-url", secret=True),),
    "pagerduty": (
        Field("routing_key", "    PagerDuty routing key", "--pagerduty-routing-key", secret=True),
    ),
    "generic": (
        Field("endpoint_url", "    Endpoint URL", "--webhook-url"),
        # Headers are where webhooks carry their tokens (Authorization, X-Api-Key).
        Field(
            "headers",
            "    Headers (JSON, optional)",
            "--webhook-headers",
            default="",
            required=False,
            secret=True,
        ),
    ),
}


def fields_for(driver: str) -> tuple[Field, ...] | None:
    return DRIVER_FIELDS.get(driver)


def driver_options() -> list[tuple[str, str]]:
    return [(name, f"{name} — {cls.label}") for name, cls in DRIVER_REGISTRY.items()]


def default_channel_name(driver: str) -> str:
    return f"ops-{driver}"


def collect_config(wizard: Any, driver: str) -> dict[str, Any]:
    """Ask ``driver``'s questions with the wizard's ``_prompt_input``; empty optional answers
    are left out so the driver's own defaults apply."""
    fields = fields_for(driver)
    if fields is None:
        return _collect_json(wizard, driver)
    config: dict[str, Any] = {}
    for field in fields:
        if field.only_if and not config.get(field.only_if):
            continue
        value = wizard._prompt_input(
            field.prompt, default=field.default, required=field.required, secret=field.secret
        )
        if value:
            config[field.key] = value
    return config


def _collect_json(wizard: Any, driver: str) -> dict[str, Any]:
    while True:
        raw = wizard._prompt_input(f"    {driver} config (JSON object)", required=True)
        try:
            value = json.loads(raw)
        except ValueError as exc:
            wizard.stdout.write(wizard.style.WARNING(f"    Not JSON: {exc}"))
            continue
        if isinstance(value, dict):
            return value
        wizard.stdout.write(wizard.style.WARNING("    The config must be a JSON object."))


def config_problems(driver: str, config: Mapping[str, Any]) -> list[str]:
    """The driver's own verdict on ``config`` (empty when it can send)."""
    if driver not in DRIVER_REGISTRY:
        return [f"Unknown driver: {driver}. Available: {', '.join(DRIVER_REGISTRY)}"]
    return get_driver(driver).validate_config(dict(config))


def masked(driver: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as it may be shown: the driver masks its secrets."""
    if driver not in DRIVER_REGISTRY:
        return {}
    return get_driver(driver).masked_config(dict(config))


def name_problem(name: str, taken: set[str]) -> str | None:
    if not name:
        return "a channel needs a name"
    if len(name) > NAME_MAX_LENGTH:
        return f"a channel name has at most {NAME_MAX_LENGTH} characters"
    if name in taken:
        return f"a notification channel named {name!r} already exists"
    return None
