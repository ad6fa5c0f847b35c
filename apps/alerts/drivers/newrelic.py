"""New Relic: workflow webhooks (issues, the current API) and legacy alert-policy channels."""

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
    str_dict,
)
from apps.alerts.errors import UnknownEventError

_ISSUE_STATES = {
    "created": (AlertStatus.FIRING, AlertEvent.NONE),
    "activated": (AlertStatus.FIRING, AlertEvent.NONE),
    "acknowledged": (AlertStatus.FIRING, AlertEvent.ACKNOWLEDGED),
    "closed": (AlertStatus.RESOLVED, AlertEvent.NONE),
}
_LEGACY_STATES = {
    "open": (AlertStatus.FIRING, AlertEvent.NONE),
    "acknowledged": (AlertStatus.FIRING, AlertEvent.ACKNOWLEDGED),
    "closed": (AlertStatus.RESOLVED, AlertEvent.NONE),
}
# Issue priorities; HIGH is New Relic's second-worst and pages people, so it is critical here.
_PRIORITIES = {
    "critical": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "medium": Severity.WARNING,
    "low": Severity.INFO,
}


def _names(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v)
    return str(value or "")


class NewRelicDriver(BaseAlertDriver):
    name = "newrelic"

    def detect(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if ("issueUrl" in payload or "issueId" in payload) and "state" in payload:
            return True
        return "current_state" in payload and (
            "condition_name" in payload or "policy_name" in payload
        )

    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        payload = require_dict(payload, self.name)
        if "current_state" in payload:
            return [self._parse_legacy(payload)]
        if "state" in payload and ("issueUrl" in payload or "issueId" in payload):
            return [self._parse_issue(payload)]
        raise self.not_recognized("expected a workflow issue ('issueUrl', 'state')")

    def _parse_issue(self, payload: dict[str, Any]) -> NormalizedAlert:
        state = str(payload["state"]).lower()
        if state not in _ISSUE_STATES:
            raise UnknownEventError(self.name, str(payload["state"]))
        status, lifecycle = _ISSUE_STATES[state]
        issue_id = first_text(payload, "issueId", "id")
        if not issue_id:
            raise self.not_recognized("workflow issue has no 'issueId' or 'id'")
        labels = {
            "priority": first_text(payload, "priority"),
            "policy": _names(payload.get("alertPolicyNames")),
            "condition": _names(payload.get("alertConditionNames")),
            "entities": _names(payload.get("impactedEntities")),
            "workflow": first_text(payload, "workflowName"),
        }
        return NormalizedAlert(
            fingerprint=f"newrelic-issue-{issue_id}",
            name=first_text(payload, "title") or _names(payload.get("alertConditionNames")),
            status=status,
            severity=_PRIORITIES.get(str(payload.get("priority", "")).lower(), Severity.WARNING),
            description=first_text(payload, "description", "title"),
            labels={k: v for k, v in labels.items() if v},
            annotations={"issueUrl": str(payload["issueUrl"])} if payload.get("issueUrl") else {},
            started_at=parse_timestamp(payload.get("createdAt")),
            ended_at=parse_timestamp(payload.get("updatedAt"))
            if status is AlertStatus.RESOLVED
            else None,
            # New Relic has already correlated incidents into this issue.
            group_key=f"issue:{issue_id}",
            event=lifecycle,
            external_event=state,
            raw=payload,
        )

    def _parse_legacy(self, payload: dict[str, Any]) -> NormalizedAlert:
        state = str(payload["current_state"]).lower()
        if state not in _LEGACY_STATES:
            raise UnknownEventError(self.name, str(payload["current_state"]))
        status, lifecycle = _LEGACY_STATES[state]
        incident_id = first_text(payload, "incident_id")
        if not incident_id:
            raise self.not_recognized("legacy alert has no 'incident_id'")
        labels = {
            "policy": first_text(payload, "policy_name"),
            "condition": first_text(payload, "condition_name"),
            "account": first_text(payload, "account_name"),
        }
        targets = payload.get("targets")
        if isinstance(targets, list) and targets and isinstance(targets[0], dict):
            labels["target"] = first_text(targets[0], "name")
            labels.update(str_dict(targets[0].get("labels")))
        occurred = parse_timestamp(payload.get("timestamp"))
        condition = first_text(payload, "condition_id") or labels["condition"]
        return NormalizedAlert(
            fingerprint=f"newrelic-incident-{incident_id}",
            name=labels["condition"] or f"New Relic incident {incident_id}",
            status=status,
            severity=normalize_severity(payload.get("severity")),
            description=first_text(payload, "details"),
            labels={k: v for k, v in labels.items() if v},
            annotations={"incident_url": str(payload["incident_url"])}
            if payload.get("incident_url")
            else {},
            started_at=occurred if status is AlertStatus.FIRING else None,
            ended_at=occurred if status is AlertStatus.RESOLVED else None,
            group_key=f"condition:{condition}",
            event=lifecycle,
            external_event=state,
            raw=payload,
        )
