"""Datadog monitor webhooks (the webhook integration's template variables as JSON keys).

Recommended template (see docs/sources.md): ``id, alert_id, alert_title, alert_transition,
alert_type, alert_priority, aggregate, hostname, tags, date, body, link, event_type``.
"""

from __future__ import annotations

import re
from typing import Any

from apps.alerts.drivers.base import (
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
    first_text,
    normalize_severity,
    parse_timestamp,
    require_dict,
    stable_fingerprint,
)
from apps.alerts.errors import UnknownEventError

_FIRING = {"triggered", "re-triggered", "renotify", "no data", "re-no data", "warn", "re-warn"}
_RESOLVED = {"recovered"}
_WARNING_TRANSITIONS = {"warn", "re-warn", "no data", "re-no data"}
# Datadog prefixes titles with the transition ("[Triggered on {host:db-02}] ..."); without it
# the firing and recovery messages of one alert carry the same name.
_TITLE_PREFIX = re.compile(r"^\[[^\]]*\]\s*")
_ALERT_TYPE_SEVERITY = {
    "error": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "success": Severity.INFO,
}


def parse_tags(value: Any) -> dict[str, str]:
    """Datadog sends ``"env:prod,service:api"`` (or a list); bare tags become ``tag: ""``."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    tags: dict[str, str] = {}
    for item in items:
        key, _, val = str(item).strip().partition(":")
        if key:
            tags[key] = val
    return tags


class DatadogDriver(BaseAlertDriver):
    name = "datadog"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if "alert_transition" in payload:
            return True
        return "alert_id" in payload and ("alert_type" in payload or "event_type" in payload)

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        if not self.detect(payload):
            raise self.not_recognized("expected 'alert_transition' or 'alert_id' + 'alert_type'")
        transition = first_text(payload, "alert_transition").lower()
        alert_type = first_text(payload, "alert_type").lower()
        if transition in _RESOLVED or (not transition and alert_type == "success"):
            status = AlertStatus.RESOLVED
        elif transition in _FIRING or not transition:
            status = AlertStatus.FIRING
        else:
            raise UnknownEventError(self.name, payload["alert_transition"])

        if transition in _WARNING_TRANSITIONS:
            severity = Severity.WARNING
        elif first_text(payload, "alert_priority"):
            severity = normalize_severity(payload["alert_priority"])
        else:
            severity = _ALERT_TYPE_SEVERITY.get(alert_type, Severity.WARNING)

        monitor = first_text(payload, "alert_id") or stable_fingerprint(payload.get("alert_title"))
        scope = first_text(payload, "aggregate", "alert_scope", "hostname")
        labels = parse_tags(payload.get("tags"))
        for key in ("hostname", "alert_priority", "alert_metric", "event_type"):
            if payload.get(key):
                labels.setdefault(key, str(payload[key]))
        occurred = parse_timestamp(payload.get("date") or payload.get("last_updated"))
        return [
            NormalizedAlert(
                fingerprint=f"datadog-{monitor}-{scope}" if scope else f"datadog-{monitor}",
                name=_TITLE_PREFIX.sub("", first_text(payload, "alert_title", "title"))
                or f"Datadog monitor {monitor}",
                status=status,
                severity=severity,
                description=first_text(payload, "body", "alert_query"),
                labels=labels,
                annotations={"link": str(payload["link"])} if payload.get("link") else {},
                started_at=occurred if status is AlertStatus.FIRING else None,
                ended_at=occurred if status is AlertStatus.RESOLVED else None,
                # One monitor firing for several hosts is one problem: group by monitor.
                group_key=f"monitor:{monitor}",
                external_event=transition or alert_type,
                raw=payload,
            )
        ]
