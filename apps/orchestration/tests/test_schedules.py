"""Pipeline schedules: the service, and a real beat firing one on a real worker."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.orchestration import schedules
from apps.orchestration.models import PipelineRun, RunStatus
from apps.orchestration.schedules import ScheduleError
from apps.orchestration.tests.helpers import definition, wait_until
from tests.support.beat import celery_beat
from tests.support.worker import celery_worker

CHECKS = [{"id": "checks", "type": "context", "config": {"checker_names": ["memory"]}}]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("1h30m", 5400), (" 10 M ", 600)],
)
def test_parse_every_reads_durations_with_units(text: str, seconds: int) -> None:
    assert schedules.parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "0s", "5m-", "1.5m", "every 5m"])
def test_parse_every_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ScheduleError):
        schedules.parse_every(text)


def test_format_every_is_the_inverse_of_parse_every() -> None:
    for text in ("1s", "5m", "1h30m", "1d2h3m4s"):
        assert schedules.format_every(schedules.parse_every(text)) == text
    assert schedules.format_every(timedelta(seconds=90)) == "1m30s"


@pytest.mark.parametrize(
    ("expression", "message"),
    [("* * * *", "needs 5 fields"), ("61 * * * *", "'61 \\* \\* \\* \\*'"), ("", "5 fields")],
)
def test_parse_cron_refuses_bad_expressions(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        schedules.parse_cron(expression)


@pytest.mark.django_db
def test_an_interval_schedule_runs_the_scheduled_pipeline_task_with_the_definition_name() -> None:
    definition("health-checks", CHECKS)
    schedule = schedules.create_schedule("health-checks", every="5m", environment="staging")

    task = PeriodicTask.objects.get(name="health-checks every 5m")
    assert task.task == "orchestration.run_scheduled_pipeline"
    assert json.loads(task.args) == ["health-checks"]
    assert json.loads(task.kwargs) == {
        "payload": {},
        "environment": "staging",
        # One run per firing slot (see start_scheduled).
        "schedule": "health-checks every 5m",
        "slot_seconds": 300,
    }
    assert (task.interval.every, task.interval.period) == (5, IntervalSchedule.MINUTES)
    assert task.expire_seconds == 300
    assert schedule.when == "every 5m"
    assert schedule.definition_name == "health-checks"
    assert schedule.enabled is True


@pytest.mark.django_db
def test_a_cron_schedule_is_stored_in_the_celery_timezone() -> None:
    definition("nightly", CHECKS)
    schedule = schedules.create_schedule("nightly", cron="0 3 * * 1-5", name="weekday nights")

    crontab = CrontabSchedule.objects.get()
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", "3", "1-5")
    assert schedule.when == "cron 0 3 * * 1-5 (UTC)"
    assert schedules.get_schedule("weekday nights").cron == "0 3 * * 1-5"


@pytest.mark.django_db
def test_create_schedule_refuses_what_it_cannot_run() -> None:
    definition("checks", CHECKS)
    inactive = definition("old", CHECKS)
    inactive.is_active = False
    inactive.save()

    with pytest.raises(ScheduleError, match="exactly one of every"):
        schedules.create_schedule("checks")
    with pytest.raises(ScheduleError, match="exactly one of every"):
        schedules.create_schedule("checks", every="5m", cron="* * * * *")
    with pytest.raises(ScheduleError, match="'missing' does not exist"):
        schedules.create_schedule("missing", every="5m")
    with pytest.raises(ScheduleError, match="'old' is inactive"):
        schedules.create_schedule("old", every="5m")
    with pytest.raises(ScheduleError, match="not a duration"):
        schedules.create_schedule("checks", every="often")
    schedules.create_schedule("checks", every="1m")
    with pytest.raises(ScheduleError, match="already exists"):
        schedules.create_schedule("checks", every="60s")
    assert PeriodicTask.objects.filter(task=schedules.TASK_NAME).count() == 1


@pytest.mark.django_db
def test_list_enable_and_delete_schedules() -> None:
    definition("a", CHECKS)
    definition("b", CHECKS)
    schedules.create_schedule("a", every="1m")
    schedules.create_schedule("a", cron="*/5 * * * *")
    schedules.create_schedule("b", every="1h")

    assert [s.name for s in schedules.list_schedules()] == [
        "a cron */5 * * * *",
        "a every 1m",
        "b every 1h",
    ]
    assert [s.when for s in schedules.list_schedules("b")] == ["every 1h"]
    assert schedules.set_enabled("b every 1h", False).enabled is False
    assert PeriodicTask.objects.get(name="b every 1h").enabled is False

    assert schedules.delete_schedules_for("a") == 2
    schedules.delete_schedule("b every 1h")
    assert schedules.list_schedules() == []
    with pytest.raises(ScheduleError, match="no pipeline schedule named 'b every 1h'"):
        schedules.delete_schedule("b every 1h")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_fires_a_one_second_schedule_that_starts_runs(
    celery_on_test_redis, tmp_path
) -> None:
    definition("every-second", CHECKS)
    schedules.create_schedule("every-second", every="1s", environment="beat-test")

    def completed() -> int:
        return PipelineRun.objects.filter(
            definition_name="every-second", source="schedule", status=RunStatus.COMPLETED
        ).count()

    with celery_worker(tmp_path), celery_beat(tmp_path):
        wait_until(lambda: completed() >= 2, timeout=60, message="two scheduled runs")

    runs = PipelineRun.objects.filter(definition_name="every-second")
    assert {r.environment for r in runs} == {"beat-test"}
    assert PeriodicTask.objects.get(name="every-second every 1s").total_run_count >= 2
