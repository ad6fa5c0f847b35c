"""Shared test data: a message with run context as the notify node builds it."""

from __future__ import annotations

from apps.notify.message import NotificationMessage


def sample_message(**overrides: object) -> NotificationMessage:
    values: dict[str, object] = {
        "title": "Disk almost full on db-1",
        "message": "Root volume at 93%",
        "severity": "critical",
        "channel": "",
        "tags": {"run_id": "run-1", "trace_id": "trace-1", "pipeline_node": "notify"},
        "context": {
            "run_id": "run-1",
            "trace_id": "trace-1",
            "source": "alertmanager",
            "environment": "production",
            "incident": {"id": 7, "title": "Disk full", "status": "open", "severity": "critical"},
            "alerts": [{"name": "DiskFull", "severity": "critical", "status": "firing"}],
            "checks": [{"checker": "disk", "status": "critical", "message": "93% used"}],
            "recommendations": [{"title": "Clean /var/log", "priority": "high"}],
        },
        "dedup_key": "incident-7",
    }
    values.update(overrides)
    return NotificationMessage(**values)  # type: ignore[arg-type]
