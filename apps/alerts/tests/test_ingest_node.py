"""The ingest node called directly, as the engine calls it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection

from apps.alerts.models import Alert, Incident
from apps.alerts.tests.support import load_fixture
from apps.orchestration.errors import NodeError
from apps.orchestration.nodes import NodeContext, get_node_handler
from apps.orchestration.nodes.ingest import unwrap_payload

pytestmark = pytest.mark.django_db


def run_ingest(payload: Any, config: dict[str, Any] | None = None, source: str = "unknown"):
    ctx = NodeContext(trace_id="trace-1", run_id="run-1", payload=payload, source=source)
    return get_node_handler("ingest").execute(ctx, {"id": "ingest", **(config or {})})


def test_a_wrapped_generic_payload_creates_an_incident_and_reports_it() -> None:
    result = run_ingest(
        {
            "driver": "generic",
            "payload": {"title": "Test Alert", "severity": "warning", "description": "Test"},
        }
    )

    assert result.node_type == "ingest"
    assert result.errors == []
    incident = Incident.objects.get()
    assert result.output["incident_id"] == incident.pk
    assert result.output["alerts_created"] == 1
    assert result.output["incidents_created"] == 1
    assert result.output["source"] == "generic"
    assert result.output["severity"] == "warning"
    assert result.output["alert_fingerprint"] == Alert.objects.get().fingerprint


def test_the_seed_alertmanager_payload_is_ingested_with_the_configured_driver() -> None:
    payload = {
        "driver": "alertmanager",
        "payload": {
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "HighMemory", "severity": "warning"},
                    "annotations": {"description": "Memory usage high"},
                }
            ]
        },
    }

    result = run_ingest(payload, {"driver": "alertmanager"})

    assert not result.has_errors
    assert result.output["alerts_created"] == 1
    assert Alert.objects.get().name == "HighMemory"


def test_a_bare_payload_is_detected() -> None:
    result = run_ingest(load_fixture("opsgenie", "create"))

    assert result.output["source"] == "opsgenie"
    assert result.output["severity"] == "critical"


def test_the_node_config_driver_wins_over_the_payloads() -> None:
    result = run_ingest(
        {"driver": "alertmanager", "payload": {"title": "x"}}, {"driver": "generic"}
    )

    assert result.output["source"] == "generic"
    assert not result.has_errors


def test_the_run_source_picks_the_driver_when_nothing_else_does() -> None:
    # A generic-looking body posted to /alerts/webhook/generic/ stays generic.
    result = run_ingest({"title": "From the generic URL", "alerts": []}, source="generic")

    assert result.output["source"] == "generic"


def test_the_incident_id_is_this_runs_even_when_other_alerts_arrive_later() -> None:
    mine = run_ingest(load_fixture("pagerduty", "incident_triggered"))
    run_ingest({"title": "a later unrelated alert"})

    assert mine.output["incident_id"] == Incident.objects.get(source="pagerduty").pk


def test_the_most_severe_alert_of_a_group_is_the_one_reported() -> None:
    result = run_ingest(load_fixture("alertmanager", "firing"))

    assert result.output["alert_fingerprint"] == "5b1e7c2e3f4a9d10"
    assert result.output["severity"] == "critical"
    assert result.output["alert_count"] == 2


def test_an_unrecognised_payload_is_a_permanent_error() -> None:
    result = run_ingest({"hello": "world"})

    assert result.has_errors
    assert "no alert source recognises" in result.errors[0]
    assert result.output["incident_id"] is None


def test_an_ignored_event_type_is_reported_as_an_error_with_no_incident() -> None:
    result = run_ingest(load_fixture("opsgenie", "add_note"))

    assert "AddNote" in result.errors[0]
    assert result.output["ignored"]
    assert result.output["incident_id"] is None


def test_an_unknown_driver_in_the_payload_is_a_permanent_error() -> None:
    result = run_ingest({"driver": "nagios", "payload": {"title": "x"}})

    assert result.errors == [
        "Unknown alert driver: 'nagios'. Known drivers: alertmanager, grafana, pagerduty, "
        "datadog, newrelic, opsgenie, zabbix, generic"
    ]


def test_a_database_outage_is_raised_as_a_retryable_node_error() -> None:
    # Django's execute_wrapper hook makes every query fail the way a lost server does.
    def server_gone(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(server_gone), pytest.raises(NodeError) as caught:
        run_ingest({"title": "db down"})

    assert caught.value.retryable is True
    assert "database unavailable" in caught.value.message


def test_validate_config_accepts_no_driver_and_known_drivers() -> None:
    handler = get_node_handler("ingest")
    assert handler.validate_config({}) == []
    assert handler.validate_config({"driver": "zabbix"}) == []


def test_validate_config_names_the_known_drivers_for_an_unknown_one() -> None:
    (error,) = get_node_handler("ingest").validate_config({"driver": "nagios"})
    assert "Unknown alert driver: 'nagios'" in error
    assert "alertmanager, grafana, pagerduty" in error


def test_only_a_pure_envelope_is_unwrapped() -> None:
    body = {"title": "has a payload field", "payload": {"k": "v"}}
    assert unwrap_payload(body) == (body, None)
    assert unwrap_payload({"driver": "grafana", "payload": {"a": 1}}) == ({"a": 1}, "grafana")


def test_a_run_reads_its_incident_summary_once(monkeypatch, settings):
    """The ingest node reads the summary where it wrote the alerts; analysis and notification
    take it from its output instead of reading the incident again."""
    from apps.alerts import services
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import PipelineDefinition

    reads: list[int] = []
    real = services.incident_summary

    def counting(incident_id: int, incident=None):
        reads.append(incident_id)
        return real(incident_id, incident)

    monkeypatch.setattr(services, "incident_summary", counting)
    config = {
        "version": "1.0",
        "nodes": [
            {"id": "ingest", "type": "ingest"},
            {"id": "analyze", "type": "intelligence", "config": {"provider": "local"}},
            {"id": "notify", "type": "notify", "config": {}},
        ],
    }
    definition = PipelineDefinition.objects.create(name="reads-once", config=config)
    payload = {"title": "Disk full", "severity": "critical", "labels": {"host": "web-1"}}
    result = DefinitionBasedOrchestrator(definition).execute(payload=payload, source="generic")

    assert result["status"] == "completed", result["error"]
    assert reads == [result["incident_id"]]
    summary = result["node_results"]["ingest"]["output"]["incident_summary"]
    assert summary["id"] == result["incident_id"] and summary["alert_count"] == 1


def test_the_summary_the_ingest_makes_from_what_it_wrote_equals_a_fresh_read():
    """The ingest builds the summary from the incident as it just wrote it (not read again):
    it must be what reading the incident afterwards gives, for a new incident and for an
    alert joining (and escalating) an existing one."""
    from apps.alerts.services import incident_summary
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import PipelineDefinition

    config = {"version": "1.0", "nodes": [{"id": "ingest", "type": "ingest"}]}
    definition = PipelineDefinition.objects.create(name="summary-fresh", config=config)
    orchestrator = DefinitionBasedOrchestrator(definition)
    for fingerprint, severity in (("fresh-1", "warning"), ("fresh-2", "critical")):
        payload = {
            "title": f"Disk {fingerprint}",
            "fingerprint": fingerprint,
            "group_key": "fresh",
            "severity": severity,
            "labels": {"host": fingerprint},
        }
        result = orchestrator.execute(payload=payload, source="generic")
        assert result["status"] == "completed", result["error"]
        made = result["node_results"]["ingest"]["output"]["incident_summary"]
        assert made == incident_summary(result["incident_id"])
    assert made["severity"] == "critical" and made["alert_count"] == 2
    assert [a["fingerprint"] for a in made["alerts"]] == ["fresh-1", "fresh-2"]
