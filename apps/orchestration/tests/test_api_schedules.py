"""Schedules over the API and the CLI, and one run per schedule slot."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from apps.orchestration.models import PipelineRun, ScheduleSlot
from apps.orchestration.schedules import start_scheduled
from apps.orchestration.tasks import run_scheduled_pipeline
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
URL = "/orchestration/schedules/"
NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]


def test_create_list_disable_delete(api):
    made = api.write.post(URL, {"definition": "health-check", "every": "5m"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "health-check every 5m"
    assert made.json()["every"] == "5m" and made.json()["enabled"] is True
    task = PeriodicTask.objects.get(name="health-check every 5m")
    assert task.task == "orchestration.run_scheduled_pipeline"
    assert json.loads(task.args) == ["health-check"]
    assert json.loads(task.kwargs)["schedule"] == "health-check every 5m"
    assert json.loads(task.kwargs)["slot_seconds"] == 300

    cron = api.write.post(
        URL, {"definition": "health-check", "cron": "*/10 * * * *", "name": "ten"}, format="json"
    )
    assert cron.json()["cron"] == "*/10 * * * *"
    assert api.read.get(URL).json()["count"] == 2
    off = api.write.patch(URL + "ten/", {"enabled": False}, format="json")
    assert off.json()["enabled"] is False
    assert api.write.delete(URL + "ten/").status_code == 204
    assert api.read.get(URL + "ten/").status_code == 404
    again = api.write.post(URL, {"definition": "health-check", "every": "5m"}, format="json")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"definition": "health-check"}, "exactly one of every or cron"),
        ({"definition": "health-check", "every": "5m", "cron": "* * * * *"}, "exactly one"),
        ({"definition": "health-check", "every": "soon"}, "is not a duration"),
        ({"definition": "health-check", "every": "0s"}, "at most once a second"),
        ({"definition": "health-check", "cron": "* * *"}, "needs 5 fields"),
        ({"definition": "health-check", "cron": "99 * * * *"}, "99 * * * *"),
        ({"definition": "missing", "every": "5m"}, "does not exist"),
        ({"definition": "a/b", "every": "5m"}, "no '/'"),
        ({"definition": "health-check", "every": 5}, "Must be a string"),
    ],
)
def test_bad_schedules_are_400(api, body, message):
    response = api.write.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not PeriodicTask.objects.filter(task="orchestration.run_scheduled_pipeline").exists()


def test_one_slot_fired_twice_starts_one_run():
    definition("job", NODES)
    at = datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC)
    first = start_scheduled("job", schedule="job-every-1m", slot_seconds=60, now=at)
    again = start_scheduled(
        "job", schedule="job-every-1m", slot_seconds=60, now=at.replace(second=40)
    )
    later = start_scheduled(
        "job", schedule="job-every-1m", slot_seconds=60, now=at.replace(minute=1)
    )
    assert first == again != later
    assert PipelineRun.objects.count() == 2
    assert ScheduleSlot.objects.count() == 2


def test_the_task_keeps_its_old_arguments_working():
    definition("job", NODES)
    run_id = run_scheduled_pipeline("job")
    assert PipelineRun.objects.get(run_id=run_id).source == "schedule"
    assert run_scheduled_pipeline("missing") is None
    assert run_scheduled_pipeline("health-check", {}, "production", "hc", 60)


def test_schedule_pipeline_command(capsys):
    call_command("schedule_pipeline", "health-check", "--every", "5m")
    assert "Scheduled health-check every 5m as 'health-check every 5m'" in capsys.readouterr().out
    call_command("schedule_pipeline", "health-check", "--cron", "*/5 * * * *")
    call_command("schedule_pipeline", "--list")
    listed = capsys.readouterr().out
    assert "health-check every 5m" in listed and "*/5 * * * *" in listed
    with pytest.raises(CommandError, match="is not a duration"):
        call_command("schedule_pipeline", "health-check", "--every", "often")
    call_command("schedule_pipeline", "health-check", "--delete")
    assert "Deleted schedule" in capsys.readouterr().out
    assert not PeriodicTask.objects.filter(task="orchestration.run_scheduled_pipeline").exists()
