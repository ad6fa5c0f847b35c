"""Prometheus Alertmanager webhook (``version: "4"``): one delivery carries a group of alerts."""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.base import (
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

# Keys only Grafana adds to its Alertmanager-shaped payload; seeing one means "not ours".
GRAFANA_MARKERS = ("orgId", "dashboardURL", "panelURL", "silenceURL", "valueString", "values")


def looks_like_grafana(payload: dict[str, Any]) -> bool:
    if "orgId" in payload:
        return True
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        return False
    return any(isinstance(a, dict) and any(k in a for k in GRAFANA_MARKERS) for a in alerts)


def prometheus_alert(
    alert: dict[str, Any],
    payload: dict[str, Any],
    *,
    labels: dict[str, str],
    annotations: dict[str, str],
    name: str,
    description: str,
    group_key: Any,
) -> NormalizedAlert:
    """One alert in the Alertmanager webhook shape, which Grafana's unified alerting reuses:
    fingerprint, status, times and group from the alert; name and text from the caller."""
    fingerprint = first_text(alert, "fingerprint") or stable_fingerprint(labels)
    status_text = first_text(alert, "status") or first_text(payload, "status")
    status = AlertStatus.RESOLVED if status_text == "resolved" else AlertStatus.FIRING
    return NormalizedAlert(
        fingerprint=fingerprint,
        name=name,
        status=status,
        severity=normalize_severity(labels.get("severity")),
        description=description,
        labels=labels,
        annotations=annotations,
        started_at=parse_timestamp(alert.get("startsAt")),
        ended_at=(parse_timestamp(alert.get("endsAt")) if status is AlertStatus.RESOLVED else None),
        # The sender already grouped these; without its key an alert stands alone.
        group_key=f"group:{group_key}" if group_key else f"alert:{fingerprint}",
        raw=alert,
    )


class AlertmanagerDriver(BaseAlertDriver):
    name = "alertmanager"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict) or looks_like_grafana(payload):
            return False
        alerts = payload.get("alerts")
        return (
            isinstance(alerts, list)
            and bool(alerts)
            and all(isinstance(a, dict) and isinstance(a.get("labels"), dict) for a in alerts)
        )

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        alerts = payload.get("alerts")
        if not isinstance(alerts, list) or not alerts:
            raise self.not_recognized("expected a non-empty 'alerts' list")
        group_key = payload.get("groupKey")
        common_labels = str_dict(payload.get("commonLabels"))
        common_annotations = str_dict(payload.get("commonAnnotations"))
        parsed = []
        for index, alert in enumerate(alerts):
            if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
                raise self.not_recognized(f"alerts[{index}] has no 'labels' object")
            labels = {**common_labels, **str_dict(alert["labels"])}
            annotations = {**common_annotations, **str_dict(alert.get("annotations"))}
            parsed.append(
                prometheus_alert(
                    alert,
                    payload,
                    labels=labels,
                    annotations=annotations,
                    name=labels.get("alertname") or "Alertmanager alert",
                    description=first_text(annotations, "description", "summary", "message"),
                    group_key=group_key,
                )
            )
        return parsed
