"""Zabbix webhook media type (the parameters listed in docs/sources.md, sent as strings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from apps.alerts.drivers.base import (
    AlertEvent,
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
    first_text,
    normalize_severity,
    require_dict,
)
from apps.alerts.errors import UnknownEventError

# {EVENT.NSEVERITY}: 0 Not classified, 1 Information, 2 Warning, 3 Average, 4 High, 5 Disaster.
NSEVERITY = {
    "0": Severity.INFO,
    "1": Severity.INFO,
    "2": Severity.WARNING,
    "3": Severity.WARNING,
    "4": Severity.CRITICAL,
    "5": Severity.CRITICAL,
}


def zabbix_time(date: str, time: str) -> datetime | None:
    """``{EVENT.DATE}`` ``2024.03.05`` + ``{EVENT.TIME}`` ``12:34:56``; Zabbix sends no zone,
    so the server is assumed to run in UTC (documented in docs/sources.md)."""
    if not date:
        return None
    try:
        return datetime.strptime(f"{date} {time or '00:00:00'}", "%Y.%m.%d %H:%M:%S").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def zabbix_tags(value: Any) -> dict[str, str]:
    """``{EVENT.TAGSJSON}``: ``[{"tag": "service", "value": "db"}]``, possibly as a string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, list):
        return {}
    return {
        str(item["tag"]): str(item.get("value", ""))
        for item in value
        if isinstance(item, dict) and item.get("tag")
    }


class ZabbixDriver(BaseAlertDriver):
    name = "zabbix"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict) or "event_id" not in payload:
            return False
        return any(k in payload for k in ("trigger_id", "event_nseverity", "event_value"))

    def _lifecycle(self, payload: dict[str, Any]) -> tuple[AlertStatus, AlertEvent, str]:
        if first_text(payload, "event_update_status") == "1":
            # An update to an existing problem: acknowledge, close, severity change, comment.
            action = first_text(payload, "event_update_action").lower()
            if "unacknowledged" in action:
                return AlertStatus.FIRING, AlertEvent.UNACKNOWLEDGED, "update"
            if "acknowledged" in action:
                return AlertStatus.FIRING, AlertEvent.ACKNOWLEDGED, "update"
            if "closed" in action:
                return AlertStatus.RESOLVED, AlertEvent.NONE, "update"
            if "changed severity" in action:
                return AlertStatus.FIRING, AlertEvent.NONE, "update"
            raise UnknownEventError(self.name, f"update: {action or 'unknown'}")
        value = first_text(payload, "event_value")
        if value == "1":
            return AlertStatus.FIRING, AlertEvent.NONE, "problem"
        if value == "0":
            return AlertStatus.RESOLVED, AlertEvent.NONE, "recovery"
        raise UnknownEventError(self.name, f"event_value={value or 'missing'}")

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        event_id = first_text(payload, "event_id")
        if not event_id:
            raise self.not_recognized("expected 'event_id' (the {EVENT.ID} macro)")
        status, lifecycle, kind = self._lifecycle(payload)
        nseverity = first_text(payload, "event_nseverity")
        severity = NSEVERITY.get(nseverity) or normalize_severity(payload.get("event_severity"))
        labels = zabbix_tags(payload.get("event_tags"))
        for key in ("host_name", "host_ip", "event_severity", "trigger_id"):
            if payload.get(key):
                labels.setdefault(key.removeprefix("event_"), str(payload[key]))
        trigger = first_text(payload, "trigger_id")
        host = first_text(payload, "host_name", "host_ip")
        annotations = {}
        if payload.get("zabbix_url"):
            annotations["zabbix_url"] = str(payload["zabbix_url"])
        return [
            NormalizedAlert(
                # {EVENT.ID} is the problem's id in the recovery and update messages too.
                fingerprint=f"zabbix-{event_id}",
                name=first_text(payload, "event_name", "trigger_name")
                or f"Zabbix event {event_id}",
                status=status,
                severity=severity,
                description=first_text(payload, "alert_message", "trigger_description"),
                labels=labels,
                annotations=annotations,
                started_at=zabbix_time(
                    first_text(payload, "event_date"), first_text(payload, "event_time")
                ),
                ended_at=zabbix_time(
                    first_text(payload, "event_recovery_date"),
                    first_text(payload, "event_recovery_time"),
                )
                if status is AlertStatus.RESOLVED
                else None,
                # The same trigger on the same host is one problem however often it flaps.
                group_key=f"trigger:{trigger}:{host}" if trigger else f"alert:{event_id}",
                event=lifecycle,
                external_event=kind,
                raw=payload,
            )
        ]
