"""Runs over the API: filtered, paginated lists and every node execution of one run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Incident
from apps.notify.models import NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
NODES = [
    {"id": "a", "type": "transform", "config": {"source_node": "payload"}, "next": "b"},
    {"id": "b", "type": "transform", "config": {"source_node": "a"}, "queue": "special"},
]


def run(name: str = "listed", **kwargs) -> str:
    found = PipelineDefinition.objects.filter(name=name).first() or definition(name, NODES)
    return DefinitionBasedOrchestrator(found).execute(**kwargs)["run_id"]


def test_the_list_filters_and_pages(api):
    incident = Incident.objects.create(title="t", source="generic", group_key="g")
    first = run(source="cron")
    second = run(source="api", incident_id=incident.pk)
    third = run("other", source="api")
    PipelineRun.objects.filter(run_id=first).update(created_at=timezone.now() - timedelta(days=2))

    everything = api.read.get("/orchestration/runs/").json()
    assert everything["count"] == 3
    assert [r["run_id"] for r in everything["results"]] == [third, second, first]
    assert everything["results"][0]["status_url"] == f"/orchestration/runs/{third}/"

    def ids(query: str) -> list[str]:
        response = api.read.get(f"/orchestration/runs/?{query}")
        assert response.status_code == 200, response.content
        return [r["run_id"] for r in response.json()["results"]]

    assert ids("definition=other") == [third]
    assert ids("source=cron") == [first]
    assert ids(f"incident={incident.pk}") == [second]
    assert ids("status=completed") == [third, second, first]
    assert ids("status=failed") == []
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"since={since}") == [third, second]
    assert ids(f"until={since}") == [first]
    page = api.read.get("/orchestration/runs/?page_size=2&page=2").json()
    assert [r["run_id"] for r in page["results"]] == [first] and page["previous"]


@pytest.mark.parametrize(
    "query", ["status=nope", "since=yesterday", "incident=abc", "incident=0", "page=99"]
)
def test_bad_filters_are_4xx_with_a_message(api, query):
    run()
    response = api.read.get(f"/orchestration/runs/?{query}")
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_the_detail_has_every_node_execution(api):
    run_id = run(trace_id="trace-9")
    detail = api.read.get(f"/orchestration/runs/{run_id}/").json()
    assert detail["trace_id"] == "trace-9" and detail["status"] == "completed"
    assert detail["executed_nodes"] == ["a", "b"]
    executions = detail["executions"]
    assert [(e["node_id"], e["attempt"], e["status"]) for e in executions] == [
        ("a", 1, "succeeded"),
        ("b", 1, "succeeded"),
    ]
    assert [e["queue"] for e in executions] == ["nodes.transform", "special"]
    assert all(e["started_at"] and e["completed_at"] for e in executions)
    assert {"worker", "task_id", "error_message", "duration_ms", "starts"} <= set(executions[0])


def test_unknown_runs_are_404(api):
    assert api.read.get("/orchestration/runs/nope/").status_code == 404
    assert api.write.post("/orchestration/runs/nope/retry/").status_code == 404
    assert api.write.post("/orchestration/runs/nope/cancel/").status_code == 404


def channel(name: str, url: str) -> None:
    NotificationChannel.objects.create(name=name, driver="generic", config={"endpoint_url": url})


def test_retry_resumes_a_failed_run_from_its_failed_node(api, http_server: RecordingServer):
    broken = RecordingServer()
    broken.default = Reply(status=503)
    broken.thread.start()
    try:
        channel("good", http_server.url + "/good")
        channel("flaky", broken.url + "/bad")
        definition(
            "notify-all",
            [
                {"id": "a", "type": "transform", "config": {"source_node": "payload"}},
                {"id": "tell", "type": "notify", "config": {"channels": ["good", "flaky"]}},
            ],
            max_retries=0,
        )
        failed = api.write.post("/orchestration/definitions/notify-all/execute/", {}, format="json")
        run_id = failed.json()["run_id"]
        assert failed.json()["status"] == "failed"
        assert api.write.post(f"/orchestration/runs/{run_id}/cancel/").status_code == 409

        fixed = api.write.patch(
            "/notify/channels/flaky/", {"config": {"endpoint_url": http_server.url + "/fixed"}},
            format="json",
        )  # fmt: skip
        assert fixed.status_code == 200
        retried = api.write.post(f"/orchestration/runs/{run_id}/retry/")
        assert retried.status_code == 200, retried.content
        detail = retried.json()
        assert detail["status"] == "completed" and detail["run_id"] == run_id
        assert [(e["node_id"], e["attempt"], e["status"]) for e in detail["executions"]] == [
            ("a", 1, "succeeded"),
            ("tell", 1, "failed"),
            ("tell", 2, "succeeded"),
        ]
        paths = [r.path for r in http_server.requests]
        assert paths.count("/good") == 1 and paths.count("/fixed") == 1
        again = api.write.post(f"/orchestration/runs/{run_id}/retry/")
        assert again.status_code == 409
        assert "only a failed run can be retried" in again.json()["error"]
    finally:
        broken.httpd.shutdown()
        broken.httpd.server_close()


def test_cancel_stops_an_open_run(api):
    pipeline = definition("slow", NODES)
    pending = PipelineRun.objects.create(
        definition=pipeline, definition_name="slow", config=pipeline.config, trace_id="t",
        current_node="a",
    )  # fmt: skip
    cancelled = api.write.post(f"/orchestration/runs/{pending.run_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    pending.refresh_from_db()
    assert pending.status == "cancelled" and "through the API" in pending.error_message
    assert api.write.post(f"/orchestration/runs/{pending.run_id}/cancel/").status_code == 409
    assert api.read.get("/orchestration/runs/?status=cancelled").json()["count"] == 1
