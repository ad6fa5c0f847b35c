"""Any JSON: a best-effort reading of common field names, tried last by auto-detection.

One alert object, or ``{"alerts": [...]}`` of them. Recognised fields: ``title``/``name``/
``alertname``/``summary`` (required), ``severity``/``level``/``priority``, ``status``/``state``,
``description``/``message``, ``labels``, ``annotations``, ``fingerprint``/``id``/``dedup_key``,
``group_key``, ``started_at``/``timestamp``, ``ended_at``.
"""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.base import (
    AlertEvent,
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    first_text,
    normalize_severity,
    parse_timestamp,
    require_dict,
    stable_fingerprint,
    str_dict,
)

NAME_KEYS = ("title", "name", "alertname", "alert_name", "summary")
_RESOLVED_WORDS = {"resolved", "ok", "closed", "recovered", "cleared", "inactive", "normal"}
_ACK_WORDS = {"acknowledged", "ack", "acked"}


def _has_name(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    labels = item.get("labels") if isinstance(item.get("labels"), dict) else {}
    return bool(first_text(item, *NAME_KEYS) or first_text(labels, "alertname"))


class GenericDriver(BaseAlertDriver):
    name = "generic"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        alerts = payload.get("alerts")
        if isinstance(alerts, list) and alerts:
            return all(_has_name(a) for a in alerts)
        return _has_name(payload)

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        alerts = payload.get("alerts")
        items = alerts if isinstance(alerts, list) and alerts else [payload]
        parsed = []
        for index, item in enumerate(items):
            if not _has_name(item):
                where = f"alerts[{index}]" if items is alerts else "the payload"
                raise self.not_recognized(f"{where} has none of the fields {', '.join(NAME_KEYS)}")
            parsed.append(self._parse_one(item))
        return parsed

    def _parse_one(self, item: dict[str, Any]) -> NormalizedAlert:
        labels = str_dict(item.get("labels"))
        annotations = str_dict(item.get("annotations"))
        name = first_text(item, *NAME_KEYS) or labels["alertname"]
        state = first_text(item, "status", "state").lower()
        status = AlertStatus.RESOLVED if state in _RESOLVED_WORDS else AlertStatus.FIRING
        # Same name and labels means the same alert re-sent; different labels stay apart.
        fingerprint = first_text(item, "fingerprint", "dedup_key", "id", "alert_id")
        fingerprint = fingerprint or stable_fingerprint(name, labels)
        return NormalizedAlert(
            fingerprint=fingerprint,
            name=name,
            status=status,
            severity=normalize_severity(first_text(item, "severity", "level", "priority") or None),
            description=first_text(item, "description", "message", "body", "text")
            or first_text(annotations, "description", "summary"),
            labels=labels,
            annotations=annotations,
            started_at=parse_timestamp(item.get("started_at") or item.get("timestamp")),
            ended_at=parse_timestamp(item.get("ended_at")) if status == "resolved" else None,
            group_key=first_text(item, "group_key", "group") or f"alert:{fingerprint}",
            event=AlertEvent.ACKNOWLEDGED if state in _ACK_WORDS else AlertEvent.NONE,
            external_event=state,
            raw=item,
        )
