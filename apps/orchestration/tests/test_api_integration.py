"""The API against real Celery workers and a real celery beat (Redis, PostgreSQL)."""

from __future__ import annotations

import pytest

from apps.notify.models import NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.orchestration.models import PipelineRun, RunStatus, ScheduleSlot
from apps.orchestration.tests.helpers import definition, wait_for_run, wait_until
from tests.support.beat import celery_beat
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_retry_from_the_failed_node_on_a_real_worker(
    api, celery_on_test_redis, http_server: RecordingServer, tmp_path
):
    broken = RecordingServer()
    broken.default = Reply(status=503)
    broken.thread.start()
    try:
        NotificationChannel.objects.create(
            name="good", driver="generic", config={"endpoint_url": http_server.url + "/good"}
        )
        NotificationChannel.objects.create(
            name="flaky", driver="generic", config={"endpoint_url": broken.url + "/bad"}
        )
        definition(
            "notify-all",
            [
                {"id": "a", "type": "transform", "config": {"source_node": "payload"}},
                {"id": "tell", "type": "notify", "config": {"channels": ["good", "flaky"]}},
            ],
            max_retries=0,
        )
        with celery_worker(tmp_path):
            first = api.write.post(
                "/orchestration/definitions/notify-all/execute/", {"wait": 60}, format="json"
            )
            assert first.status_code == 200, first.content
            run_id = first.json()["run_id"]
            assert first.json()["status"] == "failed"
            assert [r.path for r in broken.requests] == ["/bad"]

            fixed = {"config": {"endpoint_url": http_server.url + "/fixed"}}
            assert (
                api.write.patch("/notify/channels/flaky/", fixed, format="json").status_code == 200
            )
            retried = api.write.post(f"/orchestration/runs/{run_id}/retry/")
            assert retried.status_code == 202, retried.content
            assert retried.json()["status_url"] == f"/orchestration/runs/{run_id}/"
            run = wait_for_run(run_id)

        assert run.status == RunStatus.COMPLETED
        detail = api.read.get(f"/orchestration/runs/{run_id}/").json()
        rows = [(e["node_id"], e["attempt"], e["status"]) for e in detail["executions"]]
        assert rows == [("a", 1, "succeeded"), ("tell", 1, "failed"), ("tell", 2, "succeeded")]
        task_ids = {e["task_id"] for e in detail["executions"]}
        assert len(task_ids) == 3 and "" not in task_ids
        assert all(e["worker"].startswith("test-") for e in detail["executions"])
        paths = [r.path for r in http_server.requests]
        assert paths.count("/good") == 1
        assert paths.count("/fixed") == 1
    finally:
        broken.httpd.shutdown()
        broken.httpd.server_close()


def test_a_schedule_fires_on_a_real_beat_and_starts_runs(api, celery_on_test_redis, tmp_path):
    definition("tick", [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}])
    made = api.write.post(
        "/orchestration/schedules/", {"definition": "tick", "every": "1s"}, format="json"
    )
    assert made.status_code == 201, made.content

    def scheduled_runs() -> int:
        return PipelineRun.objects.filter(
            definition_name="tick", source="schedule", status=RunStatus.COMPLETED
        ).count()

    with celery_worker(tmp_path), celery_beat(tmp_path):
        wait_until(lambda: scheduled_runs() >= 3, timeout=90, message="three scheduled runs")

    slots = list(ScheduleSlot.objects.filter(schedule="tick every 1s"))
    runs = set(PipelineRun.objects.filter(source="schedule").values_list("run_id", flat=True))
    # Each firing claimed its own slot and started exactly that slot's run.
    assert len({s.slot_start for s in slots}) == len(slots) >= 3
    assert {s.run_id for s in slots} == runs
    assert api.read.get("/orchestration/schedules/tick%20every%201s/").json()["last_run_at"]
