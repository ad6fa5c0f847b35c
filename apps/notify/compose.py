"""Build a ``NotificationMessage`` from a pipeline run's data (pure: no DB, no network).

The node gathers the incident and earlier node outputs; this module decides title,
severity, body and dedup key. User-given ``title``/``message`` are kept as data: they are
never compiled as templates.
"""

from __future__ import annotations

from typing import Any

from apps.noise.decide import decision_in
from apps.notify.message import SEVERITIES, NotificationMessage, normalize_severity

MAX_ITEMS = 50  # keeps a storm of alerts from producing a multi-megabyte notification

# Titles of the messages noise control marks (docs/noise.md).
NOISE_LABELS = {
    "reminder": "Reminder",
    "resolution": "Resolved",
    "flapping": "Flapping",
    "still-firing": "Still firing after maintenance",
}

_CHECK_SEVERITY = {"critical": "critical", "warning": "warning", "unknown": "warning"}


def collect_outputs(previous_outputs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Alerts, checks and recommendations from earlier nodes' outputs, in node order."""
    found: dict[str, list[dict[str, Any]]] = {"alerts": [], "checks": [], "recommendations": []}
    for output in previous_outputs.values():
        if not isinstance(output, dict):
            continue
        for key, items in found.items():
            value = output.get(key)
            if isinstance(value, list):
                items.extend(item for item in value if isinstance(item, dict))
    return {key: items[:MAX_ITEMS] for key, items in found.items()}


def _worst(levels: list[str]) -> str | None:
    ranked = [level for level in SEVERITIES if level in levels]
    return ranked[0] if ranked else None


def _check_summary(checks: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for check in checks:
        status = str(check.get("status") or "unknown").lower()
        counts[status] = counts.get(status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    return f"{len(checks)} checks: {', '.join(parts)}"


def build_message(
    config: dict[str, Any],
    *,
    run_id: str,
    trace_id: str = "",
    source: str = "",
    environment: str = "",
    incident: dict[str, Any] | None = None,
    previous_outputs: dict[str, Any] | None = None,
    node_id: str = "",
) -> NotificationMessage:
    """The message a notify node sends. Explicit ``title``/``message``/``severity`` in the
    node config win; otherwise they come from the incident, then from the checks."""
    data = collect_outputs(previous_outputs or {})
    if incident:
        incident_alerts = [a for a in incident.get("alerts") or [] if isinstance(a, dict)]
        data["alerts"] = (incident_alerts or data["alerts"])[:MAX_ITEMS]
    checks = data["checks"]

    check_levels = [_CHECK_SEVERITY.get(str(c.get("status", "")).lower(), "info") for c in checks]
    severity = normalize_severity(
        config.get("severity") or (incident or {}).get("severity") or _worst(check_levels) or "info"
    )
    title = str(config.get("title") or "").strip()
    if not title and incident:
        title = str(incident.get("title") or f"Incident #{incident.get('id')}")
    if not title and checks:
        title = f"Health check: {_worst(check_levels) or 'info'}"
    title = title or "Pipeline notification"

    body = str(config.get("message") or "")
    if not body and incident:
        body = str(incident.get("description") or "")
    if not body and checks:
        body = _check_summary(checks)

    noise = decision_in(previous_outputs or {})
    if noise is not None:
        title, body = _marked(noise, title, body)

    if incident and incident.get("id") is not None:
        dedup_key = f"incident-{incident['id']}"
    else:
        dedup_key = f"run-{run_id}"

    return NotificationMessage(
        title=title,
        message=body,
        severity=severity,
        channel=str(config.get("channel") or ""),
        tags={"run_id": run_id, "trace_id": trace_id, "pipeline_node": node_id},
        context={
            "run_id": run_id,
            "trace_id": trace_id,
            "source": source,
            "environment": environment,
            "incident": incident,
            "noise": noise,
            **data,
        },
        dedup_key=dedup_key,
    )


def _marked(noise: dict[str, Any], title: str, body: str) -> tuple[str, str]:
    """Reminders, resolutions, flapping and the end of maintenance say so in the title;
    the reason and any storm-folded notifications in the body."""
    label = NOISE_LABELS.get(str(noise.get("kind")))
    if label and not title.startswith(f"[{label}]"):
        title = f"[{label}] {title}"
    notes = [f"Why now: {noise.get('kind')}: {noise.get('reason') or ''}".rstrip()]
    folded = noise.get("folded")
    if isinstance(folded, int) and folded > 0:
        notes.append(
            f"+{folded} more notification(s) for this incident were folded during an alert storm."
        )
    note = "\n".join(notes)
    return title, f"{body}\n\n{note}" if body else note
