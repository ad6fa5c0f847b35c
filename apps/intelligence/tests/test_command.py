"""The get_recommendations command."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command


def command(*args: str) -> str:
    out = StringIO()
    call_command("get_recommendations", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def firing_incident() -> int:
    """An incident created the way production creates them: through the alerts ingest."""
    from apps.alerts.services import AlertOrchestrator

    payload: dict[str, Any] = {
        "version": "4",
        "status": "firing",
        "receiver": "ops",
        "groupKey": '{}:{alertname="NodeFilesystemSpaceFillingUp"}',
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "NodeFilesystemSpaceFillingUp",
                    "severity": "critical",
                    "mountpoint": "/var",
                    "instance": "db-1:9100",
                },
                "annotations": {"summary": "Filesystem /var will fill up within 4 hours"},
                "startsAt": "2026-01-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "f00d",
            }
        ],
    }
    result = AlertOrchestrator().process_webhook(payload, driver="alertmanager")
    assert not result.errors, result.errors
    return result.incident_ids[0]


def test_a_system_scan_prints_a_readable_report():
    out = command()

    assert out.startswith("Provider: local\n")
    assert "Incident: none (system scan)" in out


def test_json_output_has_the_node_keys():
    data = json.loads(command("--json", "--provider", "local"))

    assert {"provider", "recommendations", "count", "summary", "description"} <= set(data)
    assert data["incident_id"] is None


def test_an_ai_provider_without_a_key_reports_the_fallback():
    out = command("--provider", "openai")

    assert "Provider: openai (fell back to local: No OpenAI API key" in out


def test_an_unknown_provider_is_a_command_error():
    with pytest.raises(CommandError, match="Unknown provider: gemini. Available:"):
        command("--provider", "gemini")


@pytest.mark.django_db
def test_an_unknown_incident_is_a_command_error():
    with pytest.raises(CommandError, match="Incident 999999 not found"):
        command("999999")


@pytest.mark.django_db
def test_an_incident_is_analysed_by_id():
    incident_id = firing_incident()

    data = json.loads(command("--incident-id", str(incident_id), "--json"))
    out = command(str(incident_id))

    assert data["incident_id"] == incident_id
    assert data["recommendations"][0]["type"] == "disk"
    assert data["recommendations"][0]["priority"] == "critical"
    assert f"Incident: #{incident_id} " in out
    assert "[CRITICAL]" in out
    assert "Actions:" in out


@pytest.mark.django_db
def test_the_node_loads_the_runs_incident():
    from apps.orchestration.nodes import NodeContext, get_node_handler

    incident_id = firing_incident()
    ctx = NodeContext(trace_id="t", run_id="r", incident_id=incident_id)

    result = get_node_handler("intelligence").execute(ctx, {"provider": "local"})

    assert result.output["incident_id"] == incident_id
    assert result.output["incident_found"] is True
    assert result.output["recommendations"][0]["details"]["alerts"] == [
        "NodeFilesystemSpaceFillingUp"
    ]


@pytest.mark.django_db
def test_the_node_scans_when_the_incident_is_gone():
    from apps.orchestration.nodes import NodeContext, get_node_handler

    ctx = NodeContext(trace_id="t", run_id="r", incident_id=999999)
    config = {"provider": "local", "provider_config": {"collect_live": False}}

    result = get_node_handler("intelligence").execute(ctx, config)

    assert not result.has_errors
    assert result.output["incident_found"] is False
