"""The change gate in the webhook: what counts as unchanged, what it costs, what it records."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.alerts.drivers import parse_payload
from apps.alerts.models import Alert, Incident
from apps.noise.gate import change_gate
from apps.noise.models import GateMemory, NoiseDecision
from apps.noise.tests.support import MessageSink, Scenario, alert, pipeline
from apps.orchestration.models import PipelineDefinition, PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(simulated, sink: MessageSink) -> Scenario:
    return Scenario(simulated, sink, pipeline())


def normalized(body: dict) -> list:
    return parse_payload(body, "generic")[1]


def test_an_unchanged_repush_answers_200_with_its_incident_and_starts_no_run(scenario) -> None:
    first = scenario.push(alert())
    scenario.clock.advance(minutes=5)
    again = scenario.push(alert(description="value changed: 91%"))  # ignored field

    assert first.status_code == 202
    assert again.status_code == 200
    incident = Incident.objects.get()
    assert again.json() == {
        "status": "unchanged",
        "incident_id": incident.pk,
        "incident_ids": [incident.pk],
        "alerts": 1,
        "reason": "unchanged: 1 alert(s) re-sent with the same status and severity; "
        "no run started (on_unchanged: skip)",
    }
    assert PipelineRun.objects.count() == 1
    stored = Alert.objects.get()
    assert (stored.seen_count, stored.last_seen_at) == (2, scenario.clock.now())
    decision = NoiseDecision.objects.get(stage="gate")
    assert (decision.kind, decision.notify, decision.incident_id) == (
        "unchanged",
        False,
        incident.pk,
    )


def test_repeats_of_one_delivery_are_one_decision_row_with_a_count(scenario) -> None:
    scenario.push(alert())
    for _ in range(5):
        scenario.clock.advance(minutes=5)
        assert scenario.push(alert()).status_code == 200

    decision = NoiseDecision.objects.get(stage="gate")
    assert decision.repeats == 5
    assert decision.last_at == scenario.clock.now()


def test_alerts_of_one_incident_re_sent_one_by_one_keep_a_streak_each(scenario) -> None:
    for fp in ("a", "b"):
        scenario.push(alert(fp, group_key="g"))
    for _ in range(3):
        for fp in ("a", "b"):
            scenario.clock.advance(minutes=1)
            assert scenario.push(alert(fp, group_key="g")).status_code == 200

    streaks = NoiseDecision.objects.filter(stage="gate").order_by("id")
    assert [(d.fingerprints, d.repeats) for d in streaks] == [(["a"], 3), (["b"], 3)]


def test_another_decision_ends_a_streak(scenario) -> None:
    scenario.push(alert())
    scenario.push(alert())
    scenario.clock.advance(hours=4)
    scenario.sweep()  # the reminder: a decision of its own
    scenario.push(alert())

    streaks = NoiseDecision.objects.filter(stage="gate").order_by("id")
    assert [d.repeats for d in streaks] == [1, 1]


def test_the_unchanged_path_is_two_statements_on_postgresql(scenario) -> None:
    scenario.push(alert())
    scenario.push(alert())  # starts the decision streak
    definition = scenario.definition
    alerts = normalized(alert())

    with CaptureQueriesContext(connection) as queries:
        assert change_gate(definition, "generic", alerts, None) is not None

    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # Read (and remember), then count the repeat: each one statement, no transaction.
        assert statements == ["WITH", "WITH"], statements
    else:
        assert statements == ["SELECT", "SAVEPOINT", "UPDATE", "UPDATE", "RELEASE"], statements


@pytest.mark.parametrize(
    "change",
    [
        {"status": "resolved"},
        {"severity": "warning"},  # any severity change is stored; ingest decides if it is news
        {"fingerprint": "disk-db-2"},
        {"status": "acknowledged"},
    ],
)
def test_a_change_of_status_severity_alert_or_acknowledgement_starts_a_run(
    scenario, change
) -> None:
    scenario.push(alert())
    changed = scenario.push({**alert(), **change})

    assert changed.status_code == 202
    assert PipelineRun.objects.count() == 2


def test_a_firing_alert_of_a_closed_incident_starts_a_run_that_tells_of_the_new_one(scenario):
    from apps.alerts.incidents import close_incident

    scenario.push(alert())
    close_incident(Incident.objects.get().pk)

    assert scenario.push(alert()).status_code == 202
    assert Incident.objects.filter(status="open").count() == 1
    # The alert did not change, but it has a new incident: that is news.
    assert scenario.sink.kinds() == ["new", "new"]


def test_an_incident_an_operator_resolved_while_its_alert_fires_reopens_and_notifies(
    scenario,
) -> None:
    from apps.alerts.incidents import resolve_incident

    scenario.push(alert())
    resolve_incident(Incident.objects.get().pk)

    assert scenario.push(alert()).status_code == 202
    assert Incident.objects.get().status == "open"
    assert scenario.sink.kinds() == ["new", "new"]
    assert "incident reopened" in NoiseDecision.objects.filter(stage="ingest").last().reason


def test_a_delivery_passed_on_but_not_ingested_yet_keeps_the_old_state_from_looking_current(
    scenario,
) -> None:
    # Stored: firing. A "resolved" passes the gate; before its run ingests it, the alert
    # fires again: that is news relative to the resolve in flight, not "unchanged".
    scenario.push(alert())
    definition = scenario.definition

    assert change_gate(definition, "generic", normalized(alert(status="resolved")), None) is None
    assert GateMemory.objects.get().state == "resolved||"
    assert change_gate(definition, "generic", normalized(alert()), None) is None
    assert GateMemory.objects.get().state == "firing|critical|"
    # Only once the last delivery passed on agrees with the stored alert is a repeat unchanged.
    assert change_gate(definition, "generic", normalized(alert()), None) is not None


def test_a_repeat_inside_the_dedup_window_is_answered_with_its_run(settings, scenario) -> None:
    settings.ALERTS_DEDUP_WINDOW_SECONDS = 60
    first = scenario.push(alert())
    again = scenario.push(alert())

    # The dedup layer's answer (the earlier run and its status), not the gate's.
    assert first.status_code == 202
    assert again.json()["replayed"] is True
    assert again.json()["run_id"] == first.json()["run_id"]


def test_on_unchanged_run_starts_a_run_that_notifies_no_one(sink, simulated) -> None:
    scenario = Scenario(simulated, sink, pipeline(on_unchanged="run"))
    scenario.push(alert())
    again = scenario.push(alert())

    assert again.status_code == 202
    assert len(sink.messages) == 1
    decision = NoiseDecision.objects.get(run_id=again.json()["run_id"])
    assert (decision.kind, decision.notify) == ("unchanged", False)
    run = PipelineRun.objects.get(run_id=again.json()["run_id"])
    notify = run.stage_executions.get(node_id="notify")
    assert notify.status == "skipped"
    assert notify.output_snapshot["skip_reason"].startswith("noise control: unchanged:")


def test_a_pipeline_without_an_ingest_node_is_not_gated(simulated) -> None:
    PipelineDefinition.objects.create(
        name="plain",
        config={"version": "1", "nodes": [{"id": "t", "type": "transform", "config": {
            "source_node": "t"}}]},
    )  # fmt: skip
    from apps.alerts.tests.webhook_support import post

    first = post("/alerts/webhook/generic/?definition=plain", alert())
    again = post("/alerts/webhook/generic/?definition=plain", alert())

    assert (first.status_code, again.status_code) == (202, 202)
    assert GateMemory.objects.count() == 0


def test_an_alert_first_seen_resolved_repeats_as_unchanged_without_an_incident(scenario) -> None:
    scenario.push(alert(status="resolved"))
    again = scenario.push(alert(status="resolved"))

    assert again.status_code == 200
    assert again.json()["incident_id"] is None
    assert scenario.sink.messages == []


def test_a_delivery_of_new_alerts_writes_nothing_at_the_gate(scenario) -> None:
    """The gate's memory only matters for stored alerts (a change in flight): for new ones
    the lookup stays a read, so a new alert's webhook commits once (its run)."""
    definition = scenario.definition
    with CaptureQueriesContext(connection) as queries:
        assert change_gate(definition, "generic", normalized(alert()), None) is None
    assert GateMemory.objects.count() == 0
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
