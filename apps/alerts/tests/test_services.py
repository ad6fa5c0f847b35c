"""Alerts into incidents: upserts, grouping and the incident lifecycle through process_webhook."""

from __future__ import annotations

from typing import Any

import pytest

from apps.alerts.incidents import close_incident
from apps.alerts.models import Alert, AlertHistory, Incident
from apps.alerts.services import AlertOrchestrator, incident_summary
from apps.alerts.tests.support import load_fixture

pytestmark = pytest.mark.django_db


def ingest(payload: dict[str, Any], driver: str | None = None):
    return AlertOrchestrator().process_webhook(payload, driver=driver)


def generic(name: str, **fields: Any) -> dict[str, Any]:
    return {"title": name, **fields}


def test_a_firing_alert_creates_an_alert_and_an_open_incident() -> None:
    result = ingest(load_fixture("pagerduty", "incident_triggered"))

    assert (result.alerts_created, result.incidents_created) == (1, 1)
    assert result.errors == []
    incident = Incident.objects.get(pk=result.incident_id)
    assert incident.status == "open"
    assert incident.severity == "critical"
    assert incident.title == "Checkout latency above 2s"
    assert incident.source == "pagerduty"
    assert Alert.objects.get().incident == incident


def test_alertmanager_group_alerts_join_one_incident_at_the_worst_severity() -> None:
    result = ingest(load_fixture("alertmanager", "firing"))

    assert result.alerts_created == 2
    assert result.incidents_created == 1
    assert len(result.incident_ids) == 1
    incident = Incident.objects.get()
    assert incident.alerts.count() == 2
    assert incident.severity == "critical"


def test_the_same_delivery_twice_updates_instead_of_duplicating() -> None:
    first = ingest(load_fixture("alertmanager", "firing"))
    second = ingest(load_fixture("alertmanager", "firing"))

    assert (second.alerts_created, second.alerts_updated, second.incidents_created) == (0, 2, 0)
    assert second.incident_id == first.incident_id
    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 1


def test_an_incident_resolves_only_when_all_its_alerts_resolve() -> None:
    ingest(load_fixture("alertmanager", "firing"))

    mixed = ingest(load_fixture("alertmanager", "mixed"))
    incident = Incident.objects.get()
    assert mixed.alerts_resolved == 1
    assert mixed.alerts_created == 1  # the scheduler alert is new to the group
    assert incident.status == "open"
    assert incident.alerts.count() == 3

    ingest(load_fixture("alertmanager", "resolved"))
    incident.refresh_from_db()
    assert incident.status == "open"  # the scheduler alert still fires

    ingest(generic_scheduler_resolved())
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None


def generic_scheduler_resolved() -> dict[str, Any]:
    payload = load_fixture("alertmanager", "mixed")
    payload["alerts"] = [payload["alerts"][2]]
    payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2024-05-14T10:00:00Z"
    return payload


def test_resolving_keeps_the_alerts_severity_and_counts_it_resolved() -> None:
    ingest(load_fixture("zabbix", "problem"))
    payload = load_fixture("zabbix", "recovery")
    payload["event_nseverity"] = "0"

    result = ingest(payload)

    assert result.alerts_resolved == 1
    assert result.incidents_updated == 1
    alert = Alert.objects.get()
    assert (alert.status, alert.severity) == ("resolved", "critical")
    assert alert.ended_at is not None
    assert Incident.objects.get().status == "resolved"


def test_a_refiring_alert_reopens_its_resolved_incident() -> None:
    first = ingest(load_fixture("generic", "firing"))
    ingest(load_fixture("generic", "resolved"))
    assert Incident.objects.get().status == "resolved"

    again = ingest(load_fixture("generic", "firing"))

    assert again.incident_id == first.incident_id
    assert (again.incidents_created, again.incidents_updated) == (0, 1)
    incident = Incident.objects.get()
    assert incident.status == "open"
    assert incident.resolved_at is None


def test_a_refiring_alert_of_a_closed_incident_opens_a_new_one() -> None:
    first = ingest(load_fixture("generic", "firing"))
    close_incident(first.incident_id)

    again = ingest(load_fixture("generic", "firing"))

    assert again.incident_id != first.incident_id
    assert again.incidents_created == 1
    assert Incident.objects.get(pk=first.incident_id).status == "closed"


def test_alerts_with_the_same_name_but_different_labels_are_not_grouped() -> None:
    ingest(generic("Disk full", labels={"host": "a"}, severity="warning"))
    ingest(generic("Disk full", labels={"host": "b"}, severity="warning"))

    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 2


def test_an_explicit_group_key_groups_alerts_of_one_source() -> None:
    result = ingest(load_fixture("generic", "multiple"))

    assert result.alerts_created == 2
    assert result.incidents_created == 1
    assert Incident.objects.get().alerts.count() == 2


def test_alerts_of_different_sources_never_share_an_incident() -> None:
    ingest(generic("Same", group_key="g", fingerprint="x"))
    ingest({"alerts": [{"labels": {"alertname": "Same"}, "fingerprint": "x"}], "groupKey": "g"})

    assert Incident.objects.count() == 2
    assert Alert.objects.count() == 2  # same fingerprint, different sources


def test_datadog_hosts_of_one_monitor_share_an_incident() -> None:
    ingest(load_fixture("datadog", "triggered"))
    ingest(load_fixture("datadog", "warn"))

    incident = Incident.objects.get()
    assert incident.alerts.count() == 2
    assert incident.severity == "critical"


def test_severity_only_escalates_while_the_incident_is_open() -> None:
    ingest(generic("CPU", group_key="cpu", fingerprint="a", severity="warning"))
    ingest(generic("CPU", group_key="cpu", fingerprint="b", severity="critical"))
    ingest(generic("CPU", group_key="cpu", fingerprint="b", severity="info"))

    assert Incident.objects.get().severity == "critical"
    assert Alert.objects.get(fingerprint="b").severity == "info"


def test_acknowledge_and_resolve_events_drive_the_incident_status() -> None:
    ingest(load_fixture("opsgenie", "create"))
    ingest(load_fixture("opsgenie", "acknowledge"))
    incident = Incident.objects.get()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_at is not None

    ingest(load_fixture("opsgenie", "close"))
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_an_acknowledged_incident_still_escalates() -> None:
    ingest(load_fixture("newrelic", "issue_activated") | {"priority": "MEDIUM"})
    ingest(load_fixture("newrelic", "issue_acknowledged") | {"priority": "CRITICAL"})

    incident = Incident.objects.get()
    assert (incident.status, incident.severity) == ("acknowledged", "critical")


def test_history_records_each_state_change() -> None:
    ingest(load_fixture("pagerduty", "incident_triggered"))
    ingest(load_fixture("pagerduty", "incident_acknowledged"))
    ingest(load_fixture("pagerduty", "incident_resolved"))

    events = list(AlertHistory.objects.values_list("event", flat=True))
    assert events == ["created", "acknowledged", "resolved"]
    assert AlertHistory.objects.last().incident_id == Incident.objects.get().pk


def test_a_resolve_for_an_unknown_alert_stores_it_without_an_incident() -> None:
    result = ingest(load_fixture("generic", "resolved"))

    assert result.alerts_created == 1
    assert result.incident_id is None
    assert Incident.objects.count() == 0


def test_an_ignored_event_type_writes_nothing_and_says_so() -> None:
    result = ingest(load_fixture("pagerduty", "incident_annotated"))

    assert result.errors == []
    assert "incident.annotated" in result.ignored
    assert result.source == "pagerduty"
    assert Alert.objects.count() == 0


def test_an_unrecognised_payload_is_an_error_not_an_exception() -> None:
    result = ingest({"hello": "world"})

    assert result.errors and "no alert source recognises" in result.errors[0]
    assert Alert.objects.count() == 0


def test_an_unknown_driver_is_an_error_listing_the_known_ones() -> None:
    result = ingest({"title": "x"}, driver="nagios")

    assert "Known drivers" in result.errors[0]


def test_very_long_fingerprints_are_hashed_to_fit() -> None:
    result = ingest(generic("Long", fingerprint="f" * 1000))

    assert len(Alert.objects.get().fingerprint) <= 255
    again = ingest(generic("Long", fingerprint="f" * 1000))
    assert (again.alerts_created, result.alerts_created) == (0, 1)


def test_the_call_reports_its_own_incident_not_the_latest_one() -> None:
    mine = ingest(generic("Mine", severity="critical"))
    ingest(generic("Someone else's"))

    assert mine.incident_id == Incident.objects.get(title="Mine").pk


def test_incident_summary_has_the_shape_other_nodes_read() -> None:
    result = ingest(load_fixture("alertmanager", "firing"))

    summary = incident_summary(result.incident_id)

    assert set(summary) == {
        "id",
        "title",
        "status",
        "severity",
        "description",
        "source",
        "created_at",
        "alerts",
        "alert_count",
        "alert_counts",
        "alerts_omitted",
    }
    assert summary["source"] == "alertmanager"
    assert len(summary["alerts"]) == 2
    assert set(summary["alerts"][0]) == {
        "name",
        "fingerprint",
        "status",
        "severity",
        "description",
        "labels",
        "annotations",
        "started_at",
    }
    assert summary["alerts"][0]["started_at"].startswith("2024-05-14T09:12:31")


def test_incident_summary_of_a_missing_incident_is_none() -> None:
    assert incident_summary(999_999) is None


def test_an_incident_summary_carries_a_bounded_number_of_alerts(settings):
    from apps.alerts.models import Alert, Incident
    from apps.alerts.services import incident_summary

    settings.PIPELINE_CONTEXT_MAX_ALERTS = 5
    incident = Incident.objects.create(title="storm", source="generic", group_key="g")
    for i in range(12):
        Alert.objects.create(
            incident=incident,
            source="generic",
            fingerprint=f"fp-{i}",
            name=f"alert {i}",
            status="resolved" if i % 4 == 0 else "firing",
            severity="warning",
        )
    summary = incident_summary(incident.pk)
    assert [a["name"] for a in summary["alerts"]] == [f"alert {i}" for i in range(7, 12)]
    assert summary["alert_count"] == 12
    assert summary["alerts_omitted"] == 7
    assert summary["alert_counts"] == {"firing": 9, "resolved": 3}
