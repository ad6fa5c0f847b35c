"""Incidents over the API: list and detail with alerts and runs; acknowledge, resolve, close."""

from __future__ import annotations

import pytest

from apps.alerts.models import Alert, Incident
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
URL = "/alerts/incidents/"


@pytest.fixture
def incident() -> Incident:
    found = Incident.objects.create(title="Disk full", source="generic", group_key="g")
    Alert.objects.create(
        source="generic", fingerprint="f", name="Disk full", status="firing",
        severity="warning", incident=found,
    )  # fmt: skip
    pipeline = definition(
        "p", [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]
    )
    DefinitionBasedOrchestrator(pipeline).execute(incident_id=found.pk)
    return found


def test_list_and_detail_with_alerts_and_runs(api, incident):
    listed = api.read.get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["alert_count"] == 1
    assert api.read.get(URL + "?status=open").json()["count"] == 1
    assert api.read.get(URL + "?status=closed").json()["count"] == 0
    detail = api.read.get(f"{URL}{incident.pk}/").json()
    assert detail["alerts"][0]["fingerprint"] == "f"
    assert detail["runs"][0]["definition"] == "p"


def test_acknowledge_resolve_close(api, incident):
    base = f"{URL}{incident.pk}/"
    acked = api.write.post(base + "acknowledge/")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_at"]
    assert api.write.post(base + "acknowledge/").status_code == 200  # repeating is harmless
    assert api.write.post(base + "resolve/").json()["status"] == "resolved"
    refused = api.write.post(base + "acknowledge/")
    assert refused.status_code == 409
    assert "only open incidents can become acknowledged" in refused.json()["error"]
    assert api.write.post(base + "close/").json()["status"] == "closed"
    assert api.write.post(base + "resolve/").status_code == 409


@pytest.mark.parametrize("raw", ["nope", "0", "-1", "99999999999999999999999", "12345"])
def test_unknown_incidents_are_404(api, raw):
    assert api.read.get(f"{URL}{raw}/").status_code == 404
    assert api.write.post(f"{URL}{raw}/close/").status_code == 404
