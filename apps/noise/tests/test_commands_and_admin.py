"""``manage.py silence``, ``trace`` and ``noise_sweep``, and the silences admin."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from apps.alerts.models import Incident
from apps.noise.models import Silence
from apps.noise.tests.support import MessageSink, Scenario, alert, pipeline
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_silence_add_list_and_expire(sim_clock) -> None:
    added = run(
        "silence", "add", "host=db-1", "alertname=~Disk.*", "--duration", "2h",
        "--comment", "disk swap", "--author", "alice",
    )  # fmt: skip
    silence = Silence.objects.get()

    assert added == (
        f'Silence {silence.pk} added: host="db-1", alertname=~"Disk.*" from '
        "2026-01-05 00:00:00 UTC until 2026-01-05 02:00:00 UTC by alice (disk swap)\n"
    )
    assert f'{silence.pk:>5}  active   2026-01-05 00:00 → 2026-01-05 02:00  host="db-1"' in run(
        "silence", "list"
    )
    assert run("silence", "expire", str(silence.pk)) == f"Silence {silence.pk} expired.\n"
    assert run("silence", "list") == "No active or pending silences.\n"
    assert "expired" in run("silence", "list", "--all")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["host=~(", "--duration", "1h"], "invalid regex"),
        (["team!=x", "--duration", "1h"], "must not match an empty value"),
        (["host=a", "--duration", "2x"], "is not a duration"),
        (["host=a"], "give either an end time or a duration"),
        (["host=a", "--ends", "tomorrow"], "is not an ISO 8601 time"),
        (["host=a", "--ends", "2020-01-01T00:00:00Z"], "ends_at: must be after starts_at"),
    ],
)
def test_silence_add_refuses_what_it_cannot_use(sim_clock, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("silence", "add", *args, "--comment", "c", "--author", "a")
    assert Silence.objects.count() == 0


def test_silence_expire_names_unknown_ids() -> None:
    with pytest.raises(CommandError, match="no silence 404"):
        run("silence", "expire", "404")


@pytest.fixture
def history(simulated, sink: MessageSink) -> Scenario:
    """An alert: new, re-pushed unchanged, reminded after 4 h, resolved."""
    scenario = Scenario(simulated, sink, pipeline())
    scenario.every(timedelta(minutes=30), timedelta(hours=5), lambda _: scenario.push(alert()))
    scenario.push(alert(status="resolved"))
    return scenario


def test_trace_of_an_incident_explains_every_notification_and_every_silence(history) -> None:
    incident = Incident.objects.get()
    text = run("trace", str(incident.pk))
    lines = text.splitlines()

    assert lines[0] == (
        f"Incident #{incident.pk} 'Disk full on db-1': resolved, critical, source generic, "
        f"group alert:disk-db-1"
    )
    assert "  alert disk-db-1 (Disk full on db-1): resolved, critical, seen 11 times" in lines[1]
    assert "2026-01-05 00:00:00  delivery   from generic" in text
    assert "gate       passed: something may have changed; the run decides" in text
    assert "decision   new → notify, analyse: new incident: new alert Disk full on db-1" in text
    assert "  notify       succeeded" in text
    assert "→ sink (generic): sent at" in text
    assert "2026-01-05 00:30:00  gate       unchanged ×8 until 2026-01-05 04:00:00: no run" in text
    # Four hours on, the analysis cooldown (15 min) is long over: the reminder is analysed.
    assert "2026-01-05 04:00:00  sweep      reminder → notify, analyse: still open" in text
    assert "noise control: resolution messages are not analysed" in text
    assert "decision   resolution → notify: every alert of the incident resolved" in text


def test_trace_finds_a_run_and_an_alert_fingerprint_and_prints_json(history) -> None:
    reminder = PipelineRun.objects.get(source="noise")

    by_run = run("trace", reminder.run_id)
    by_alert = run("trace", "disk-db-1", "--alert")
    as_json = json.loads(run("trace", reminder.run_id, "--json"))

    assert "sweep      reminder → notify" in by_run
    assert "unchanged" not in by_run  # one run only
    assert by_alert == run("trace", str(Incident.objects.get().pk))
    assert as_json[0]["events"][0]["kind"] == "reminder"
    assert as_json[0]["events"][0]["run"]["channels"][0]["status"] == "sent"


def test_trace_says_when_nothing_matches() -> None:
    with pytest.raises(CommandError, match="no run, incident or alert fingerprint 'nope'"):
        run("trace", "nope")
    with pytest.raises(CommandError, match="an incident id is a number"):
        run("trace", "x", "--incident")


def test_noise_sweep_runs_the_sweeps_once(simulated, sink: MessageSink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    simulated.advance(hours=4)

    assert run("noise_sweep") == (
        "Started 1 reminder/digest run(s), 0 after-maintenance run(s), 0 end-of-flapping run(s).\n"
    )
    assert sink.kinds() == ["new", "reminder"]


# --- admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client() -> Client:
    User.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client()
    client.force_login(User.objects.get(username="root"))
    return client


def test_the_admin_adds_a_silence_with_matchers_one_per_line(admin_client, sim_clock) -> None:
    response = admin_client.post(
        "/admin/noise/silence/add/",
        {
            "matchers": "host=db-1\nseverity=~critical|warning",
            "starts_at_0": "2026-01-05",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2026-01-05",
            "ends_at_1": "02:00:00",
            "created_by": "root",
            "comment": "db-1 maintenance",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    silence = Silence.objects.get()
    assert silence.describe() == 'host="db-1", severity=~"critical|warning"'
    listing = admin_client.get("/admin/noise/silence/").content.decode()
    assert "host=&quot;db-1&quot;" in listing and "active" in listing


def test_the_admin_refuses_a_bad_matcher_and_expires_on_request(admin_client, sim_clock) -> None:
    form = {
        "matchers": "host=~(",
        "starts_at_0": "2026-01-05",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-01-05",
        "ends_at_1": "02:00:00",
        "created_by": "root",
        "comment": "x",
    }
    refused = admin_client.post("/admin/noise/silence/add/", form)
    assert refused.status_code == 200
    assert "invalid regex" in refused.content.decode()

    admin_client.post("/admin/noise/silence/add/", {**form, "matchers": "host=db-1"})
    silence = Silence.objects.get()
    admin_client.post(
        "/admin/noise/silence/",
        {"action": "expire_now", "_selected_action": [silence.pk]},
    )
    silence.refresh_from_db()
    assert silence.ends_at == sim_clock.now()


def test_the_decision_log_is_read_only_in_the_admin(admin_client, history) -> None:
    listing = admin_client.get("/admin/noise/noisedecision/?kind=reminder")

    assert listing.status_code == 200
    assert "still open (critical)" in listing.content.decode()
    assert admin_client.get("/admin/noise/noisedecision/add/").status_code == 403
