"""PagerDuty v3 webhook subscriptions (``{"event": {"event_type": "incident.*", ...}}``)."""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.base import (
    AlertEvent,
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
    first_text,
    normalize_severity,
    parse_timestamp,
    require_dict,
)
from apps.alerts.errors import UnknownEventError

# Event types that change what an alert is; notes, responders, workflows etc. do not.
_EVENTS: dict[str, tuple[AlertStatus, AlertEvent]] = {
    "incident.triggered": (AlertStatus.FIRING, AlertEvent.NONE),
    "incident.reopened": (AlertStatus.FIRING, AlertEvent.NONE),
    "incident.escalated": (AlertStatus.FIRING, AlertEvent.NONE),
    "incident.priority_updated": (AlertStatus.FIRING, AlertEvent.NONE),
    "incident.acknowledged": (AlertStatus.FIRING, AlertEvent.ACKNOWLEDGED),
    "incident.unacknowledged": (AlertStatus.FIRING, AlertEvent.UNACKNOWLEDGED),
    "incident.resolved": (AlertStatus.RESOLVED, AlertEvent.NONE),
}


def pagerduty_severity(data: dict[str, Any]) -> Severity:
    """Priority (P1-P5, account-defined) wins over urgency, which every incident has."""
    priority = data.get("priority")
    if isinstance(priority, dict) and priority.get("summary"):
        return normalize_severity(priority["summary"])
    return Severity.CRITICAL if data.get("urgency") == "high" else Severity.WARNING


class PagerDutyDriver(BaseAlertDriver):
    name = "pagerduty"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        event = payload.get("event")
        return (
            isinstance(event, dict)
            and isinstance(event.get("event_type"), str)
            and "resource_type" in event
        )

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
            raise self.not_recognized("expected an 'event' object with an 'event_type'")
        event_type = event["event_type"]
        if event_type not in _EVENTS:
            raise UnknownEventError(self.name, event_type)
        data = event.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise self.not_recognized(f"{event_type} event has no incident 'data.id'")
        status, lifecycle = _EVENTS[event_type]
        service = data.get("service") if isinstance(data.get("service"), dict) else {}
        priority = data.get("priority") if isinstance(data.get("priority"), dict) else {}
        labels = {
            "service": first_text(service, "summary"),
            "service_id": first_text(service, "id"),
            "urgency": first_text(data, "urgency"),
            "priority": first_text(priority, "summary"),
            "incident_number": first_text(data, "number"),
        }
        occurred = parse_timestamp(event.get("occurred_at"))
        return [
            NormalizedAlert(
                fingerprint=f"pagerduty-{data['id']}",
                name=first_text(data, "title", "summary") or f"PagerDuty incident {data['id']}",
                status=status,
                severity=pagerduty_severity(data),
                description=first_text(data, "description", "title", "summary"),
                labels={k: v for k, v in labels.items() if v},
                annotations={"html_url": first_text(data, "html_url")}
                if data.get("html_url")
                else {},
                started_at=parse_timestamp(data.get("created_at")) or occurred,
                ended_at=occurred if status is AlertStatus.RESOLVED else None,
                # A PagerDuty incident has already been grouped by PagerDuty: keep it 1:1.
                group_key=f"incident:{data['id']}",
                event=lifecycle,
                external_event=event_type,
                raw=payload,
            )
        ]
