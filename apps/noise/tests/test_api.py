"""Noise control over the REST API: silences CRUD with scopes, the trace of a run and of an
incident, and the decisions shown with a run and an incident."""

from __future__ import annotations

import pytest

from apps.alerts.models import Incident
from apps.noise.models import Silence
from apps.noise.tests.support import MessageSink, Scenario, alert, pipeline
from apps.orchestration.models import PipelineRun
from apps.orchestration.tests.conftest import api  # noqa: F401 - clients with scoped keys

pytestmark = pytest.mark.django_db
URL = "/alerts/silences/"


def test_create_read_extend_and_expire_a_silence(api, sim_clock) -> None:  # noqa: F811
    made = api.write.post(
        URL,
        {"matchers": ["host=db-1", {"name": "severity", "op": "=~", "value": "critical|warning"}],
         "duration": "2h", "comment": "db-1 disk"},
        format="json",
    )  # fmt: skip

    assert made.status_code == 201, made.content
    body = made.json()
    assert body["matchers_text"] == 'host="db-1", severity=~"critical|warning"'
    assert body["state"] == "active"
    assert body["created_by"] == "test-write"  # the API key's name
    assert body["ends_at"] == "2026-01-05T02:00:00Z"
    listed = api.read.get(URL).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]

    longer = api.write.patch(
        f"{URL}{body['id']}/", {"ends_at": "2026-01-05T04:00:00Z"}, format="json"
    )
    assert longer.json()["ends_at"] == "2026-01-05T04:00:00Z"
    expired = api.write.delete(f"{URL}{body['id']}/")
    assert expired.status_code == 200
    assert expired.json()["state"] == "expired"
    assert api.read.get(URL).json()["results"] == []
    assert len(api.read.get(URL + "?state=all").json()["results"]) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"matchers": ["host=~("], "duration": "1h", "comment": "c"}, "invalid regex"),
        ({"matchers": ["team!=x"], "duration": "1h", "comment": "c"}, "empty value"),
        ({"matchers": [], "duration": "1h", "comment": "c"}, "matchers"),
        ({"matchers": [5], "duration": "1h", "comment": "c"}, "name=value"),
        ({"matchers": ["host=a"], "comment": "c"}, "exactly one of ends_at or duration"),
        ({"matchers": ["host=a"], "duration": "2x", "comment": "c"}, "is not a duration"),
        ({"matchers": ["host=a"], "duration": "1h"}, "comment"),
        ({"matchers": ["host=a"], "duration": "1h", "comment": "c", "x": 1}, "Unknown"),
        (
            {"matchers": ["host=a"], "ends_at": "2020-01-01T00:00:00Z", "comment": "c"},
            "must be after starts_at",
        ),
    ],
)
def test_a_bad_silence_is_a_400_naming_the_problem(api, sim_clock, body, error) -> None:  # noqa: F811
    answer = api.write.post(URL, body, format="json")

    assert answer.status_code == 400, answer.content
    assert error in answer.json()["error"] + str(answer.json().get("fields", ""))
    assert Silence.objects.count() == 0


def test_silences_need_read_to_list_and_write_to_change(api, sim_clock) -> None:  # noqa: F811
    body = {"matchers": ["host=a"], "duration": "1h", "comment": "c"}

    assert api.anon.get(URL).status_code == 401
    assert api.read.post(URL, body, format="json").status_code == 403
    assert api.read.get(URL).status_code == 200
    assert api.read.get(f"{URL}404/").status_code == 404
    assert api.write.delete(f"{URL}nope/").status_code == 404


@pytest.fixture
def history(simulated, sink: MessageSink) -> Scenario:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    scenario.push(alert())  # unchanged
    scenario.clock.advance(hours=4)
    scenario.sweep()  # reminder
    return scenario


def test_the_run_api_shows_its_decision_and_its_trace(api, history) -> None:  # noqa: F811
    reminder = PipelineRun.objects.get(source="noise")

    detail = api.read.get(f"/orchestration/runs/{reminder.run_id}/").json()
    traced = api.read.get(f"/orchestration/runs/{reminder.run_id}/trace/").json()

    assert [(d["kind"], d["notify"], d["stage"]) for d in detail["noise"]] == [
        ("reminder", True, "sweep")
    ]
    assert traced["events"][0]["kind"] == "reminder"
    assert traced["events"][0]["run"]["channels"][0]["channel"] == "sink"
    assert api.read.get("/orchestration/runs/nope/trace/").status_code == 404


def test_the_incident_api_shows_noise_state_decisions_and_trace(api, history) -> None:  # noqa: F811
    incident = Incident.objects.get()

    detail = api.read.get(f"/alerts/incidents/{incident.pk}/").json()
    traced = api.read.get(f"/alerts/incidents/{incident.pk}/trace/?limit=2").json()

    assert detail["alerts"][0]["seen_count"] == 2
    assert detail["noise"]["state"]["last_notified_kind"] == "reminder"
    assert [d["kind"] for d in detail["noise"]["decisions"]] == ["new", "unchanged", "reminder"]
    assert [e["kind"] for e in traced["events"]] == ["unchanged", "reminder"]
    assert traced["events_omitted"] == 1
    assert api.read.get(f"/alerts/incidents/{incident.pk}/trace/?limit=x").status_code == 400
    assert api.read.get("/alerts/incidents/999/trace/").status_code == 404
