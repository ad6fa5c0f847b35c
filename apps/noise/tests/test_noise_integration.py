"""End to end on real processes: webhooks through Django's request handling into PostgreSQL,
the runs on a real Celery worker over Redis, the reminder from a real ``celery beat``, and a
loopback receiver counting the messages (real time, a 5-second repeat interval)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.alerts.tests.webhook_support import post
from apps.noise.models import NoiseDecision
from apps.noise.tests.support import MessageSink, alert, pipeline
from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition, PipelineRun
from tests.support.beat import celery_beat
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

URL = "/alerts/webhook/generic/?definition=noisy"


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_firing_alert_repushed_notifies_once_reminds_from_beat_and_resolves_once(
    tmp_path: Path, settings, celery_on_test_redis, sink: MessageSink
) -> None:
    # Re-pushes come faster than the dedup window: turn it off so they reach the gate.
    settings.ALERTS_DEDUP_WINDOW_SECONDS = 0
    NotificationChannel.objects.create(
        name="sink", driver="generic", config={"endpoint_url": sink.url}
    )
    PipelineDefinition.objects.create(name="noisy", config=pipeline(repeat_interval="5s"))
    env = {"NOISE_SWEEP_INTERVAL_SECONDS": "1"}

    with celery_worker(tmp_path, extra_env=env) as worker, celery_beat(tmp_path, extra_env=env):
        first = post(URL, alert())
        assert first.status_code == 202
        wait_for(lambda: len(sink.messages) == 1, 60, "the first notification")

        # Unchanged re-pushes: answered at once, no run, nobody told.
        repushes = [post(URL, alert()) for _ in range(10)]
        assert {r.status_code for r in repushes} == {200}
        assert {r.json()["status"] for r in repushes} == {"unchanged"}

        # Beat's sweep sends the reminder once the repeat interval has passed.
        wait_for(lambda: len(sink.messages) == 2, 60, "the reminder from beat")
        resolved = post(URL, alert(status="resolved"))
        assert resolved.status_code == 202
        wait_for(lambda: sink.kinds()[-1:] == ["resolution"], 60, "the resolution")
        time.sleep(2)  # any stray message would arrive now
        log = worker.log()

    kinds = sink.kinds()
    assert kinds[0] == "new" and kinds[-1] == "resolution", (kinds, log[-3000:])
    reminders = kinds[1:-1]
    assert reminders and set(reminders) == {"reminder"}, kinds
    assert sink.messages[1]["title"].startswith("[Reminder] ")
    # Runs: the first delivery, each reminder, the resolution; the 10 re-pushes started none.
    assert PipelineRun.objects.count() == 2 + len(reminders)
    assert PipelineRun.objects.filter(source="noise").count() == len(reminders)
    assert NoiseDecision.objects.get(stage="gate").repeats == 10
    # Each message reached the receiver once.
    assert all(sink.effective(run_id) == 1 for run_id in sink.raw)
