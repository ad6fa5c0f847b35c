"""What a driver sends and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "error", "warning", "info")

# Monitoring systems and intelligence providers name levels differently; one vocabulary
# keeps every driver's mapping (PagerDuty, Slack colours) to four cases.
_SEVERITY_ALIASES = {
    "crit": "critical",
    "fatal": "critical",
    "high": "error",
    "err": "error",
    "warn": "warning",
    "medium": "warning",
    "low": "info",
    "ok": "info",
    "resolved": "info",
    "unknown": "warning",
}


def normalize_severity(value: Any, default: str = "info") -> str:
    """One of ``SEVERITIES`` for any level spelling a source may use."""
    text = str(value or "").strip().lower()
    if text in SEVERITIES:
        return text
    return _SEVERITY_ALIASES.get(text, default)


@dataclass
class NotificationMessage:
    """A notification, independent of the channel that carries it.

    ``context`` holds the structured run data templates render (incident, alerts, checks,
    recommendations, run ids); ``dedup_key`` lets PagerDuty fold repeats into one incident.
    """

    title: str
    message: str
    severity: str = "info"
    channel: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    dedup_key: str = ""
    # The same on every send of one (run, node, channel): a receiver that honours it drops a
    # resend after an ambiguous timeout (the generic driver sends it as ``Idempotency-Key``).
    idempotency_key: str = ""


@dataclass
class DeliveryResult:
    """A successful send: a short summary of the remote answer, safe to store."""

    driver: str
    summary: dict[str, Any] = field(default_factory=dict)
    external_id: str = ""
