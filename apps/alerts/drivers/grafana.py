"""Grafana alerting webhooks: unified alerting (Grafana 8+) and legacy dashboard alerts."""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.alertmanager import looks_like_grafana, prometheus_alert
from apps.alerts.drivers.base import (
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
    first_text,
    normalize_severity,
    require_dict,
    stable_fingerprint,
    str_dict,
)
from apps.alerts.errors import UnknownEventError

# Legacy dashboard alert states; "pending" and "paused" are not alert transitions.
_LEGACY_STATES = {
    "alerting": (AlertStatus.FIRING, Severity.CRITICAL),
    "no_data": (AlertStatus.FIRING, Severity.WARNING),
    "ok": (AlertStatus.RESOLVED, Severity.INFO),
}


class GrafanaDriver(BaseAlertDriver):
    name = "grafana"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if isinstance(payload.get("alerts"), list) and looks_like_grafana(payload):
            return True
        return "ruleName" in payload and "state" in payload and "ruleId" in payload

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        if isinstance(payload.get("alerts"), list):
            return self._parse_unified(payload)
        if "ruleName" in payload and "state" in payload:
            return [self._parse_legacy(payload)]
        raise self.not_recognized("expected unified 'alerts' or legacy 'ruleName'/'state'")

    def _parse_unified(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        alerts = payload["alerts"]
        if not alerts:
            raise self.not_recognized("'alerts' is empty")
        group_key = payload.get("groupKey")
        parsed = []
        for index, alert in enumerate(alerts):
            if not isinstance(alert, dict):
                raise self.not_recognized(f"alerts[{index}] is not an object")
            labels = str_dict(alert.get("labels"))
            annotations = str_dict(alert.get("annotations"))
            for key in ("dashboardURL", "panelURL", "generatorURL", "valueString"):
                if alert.get(key):
                    annotations.setdefault(key, str(alert[key]))
            parsed.append(
                prometheus_alert(
                    alert,
                    payload,
                    labels=labels,
                    annotations=annotations,
                    name=labels.get("alertname") or first_text(payload, "title") or "Grafana",
                    description=first_text(annotations, "description", "summary")
                    or first_text(payload, "message"),
                    group_key=group_key,
                )
            )
        return parsed

    def _parse_legacy(self, payload: dict[str, Any]) -> NormalizedAlert:
        state = str(payload["state"]).lower()
        if state not in _LEGACY_STATES:
            raise UnknownEventError(self.name, state)
        status, default_severity = _LEGACY_STATES[state]
        tags = str_dict(payload.get("tags"))
        rule_id = first_text(payload, "ruleId")
        fingerprint = f"rule-{rule_id}" if rule_id else stable_fingerprint(payload["ruleName"])
        annotations = {"ruleUrl": str(payload["ruleUrl"])} if payload.get("ruleUrl") else {}
        return NormalizedAlert(
            fingerprint=fingerprint,
            name=str(payload["ruleName"]),
            status=status,
            severity=normalize_severity(tags.get("severity"), default_severity),
            description=first_text(payload, "message", "title"),
            labels=tags,
            annotations=annotations,
            group_key=f"alert:{fingerprint}",
            external_event=state,
            raw=payload,
        )
