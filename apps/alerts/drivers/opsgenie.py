"""Opsgenie outgoing webhook integration (``{"action": "Create", "alert": {...}}``)."""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.base import (
    AlertEvent,
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
    first_text,
    parse_timestamp,
    require_dict,
    str_dict,
)
from apps.alerts.errors import UnknownEventError

# Actions that change the alert's state; AddNote, AddTags, TakeOwnership... do not.
_ACTIONS: dict[str, tuple[AlertStatus, AlertEvent]] = {
    "create": (AlertStatus.FIRING, AlertEvent.NONE),
    "escalate": (AlertStatus.FIRING, AlertEvent.NONE),
    "escalatenext": (AlertStatus.FIRING, AlertEvent.NONE),
    "updatepriority": (AlertStatus.FIRING, AlertEvent.NONE),
    "acknowledge": (AlertStatus.FIRING, AlertEvent.ACKNOWLEDGED),
    "unacknowledge": (AlertStatus.FIRING, AlertEvent.UNACKNOWLEDGED),
    "close": (AlertStatus.RESOLVED, AlertEvent.NONE),
    "delete": (AlertStatus.RESOLVED, AlertEvent.NONE),
}
# P1 Critical, P2 High, P3 Moderate, P4 Low, P5 Informational (Opsgenie's own names).
PRIORITY_SEVERITY = {
    "P1": Severity.CRITICAL,
    "P2": Severity.CRITICAL,
    "P3": Severity.WARNING,
    "P4": Severity.INFO,
    "P5": Severity.INFO,
}


class OpsgenieDriver(BaseAlertDriver):
    name = "opsgenie"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        alert = payload.get("alert")
        return (
            isinstance(payload.get("action"), str)
            and isinstance(alert, dict)
            and ("alertId" in alert or "tinyId" in alert)
        )

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        alert = payload.get("alert")
        if not isinstance(payload.get("action"), str) or not isinstance(alert, dict):
            raise self.not_recognized("expected 'action' and an 'alert' object")
        action = payload["action"]
        if action.lower() not in _ACTIONS:
            raise UnknownEventError(self.name, action)
        status, lifecycle = _ACTIONS[action.lower()]
        key = first_text(alert, "alias", "alertId", "tinyId")
        if not key:
            raise self.not_recognized("alert has no 'alias' or 'alertId'")
        labels = str_dict(alert.get("details"))
        tags = alert.get("tags")
        if isinstance(tags, list) and tags:
            labels.setdefault("tags", ",".join(str(t) for t in tags))
        for field_name in ("priority", "entity", "source", "team"):
            if alert.get(field_name):
                labels.setdefault(field_name, str(alert[field_name]))
        updated = parse_timestamp(alert.get("updatedAt"))
        return [
            NormalizedAlert(
                # The alias is Opsgenie's deduplication key: the same problem keeps it.
                fingerprint=f"opsgenie-{key}",
                name=first_text(alert, "message") or f"Opsgenie alert {key}",
                status=status,
                severity=PRIORITY_SEVERITY.get(str(alert.get("priority", "")), Severity.WARNING),
                description=first_text(alert, "description", "message"),
                labels=labels,
                annotations={},
                started_at=parse_timestamp(alert.get("createdAt")),
                ended_at=updated if status is AlertStatus.RESOLVED else None,
                group_key=f"alert:{key}",
                event=lifecycle,
                external_event=action,
                raw=payload,
            )
        ]
