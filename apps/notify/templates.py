"""Render notification bodies from the project's own templates in a Jinja sandbox.

Templates are loaded only from ``apps/notify/templates/`` (never from strings): a title or
message typed by a user, or text inside an alert payload, is data passed to a template, so
``{{ ... }}`` in it is printed, not evaluated. ``.html`` templates are autoescaped.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from apps.notify.message import NotificationMessage

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def slack_escape(value: Any) -> str:
    """Slack's mrkdwn treats ``&``, ``<`` and ``>`` as markup (links, mentions)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["slack_escape"] = slack_escape
    return env


def render(template_name: str, message: NotificationMessage) -> str:
    """Render ``notify/<template_name>`` with the message and its run context."""
    ctx = message.context or {}
    data = {
        "title": message.title,
        "message": message.message,
        "severity": message.severity,
        "channel": message.channel,
        "tags": message.tags or {},
        "incident": ctx.get("incident"),
        "alerts": ctx.get("alerts") or [],
        "checks": ctx.get("checks") or [],
        "recommendations": ctx.get("recommendations") or [],
        "run_id": ctx.get("run_id", ""),
        "trace_id": ctx.get("trace_id", ""),
        "source": ctx.get("source", ""),
        "environment": ctx.get("environment", ""),
    }
    template = environment().get_template(f"notify/{template_name}")
    return template.render(**data).strip() + "\n"
