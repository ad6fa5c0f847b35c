"""The API's command-line side: monitor_pipeline, run_pipeline --retry and built-ins by name,
and the OpenAPI document (valid, served with its UIs from the installed package)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.notify.models import NotificationChannel
from apps.notify.tests.conftest import RecordingServer
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]


def out(*args: str) -> str:
    buffer = io.StringIO()
    call_command(*args, stdout=buffer)
    return buffer.getvalue()


def test_monitor_pipeline_shows_recent_runs_and_one_run_node_by_node():
    pipeline = definition("watched", NODES)
    result = DefinitionBasedOrchestrator(pipeline).execute(source="cli")
    table = out("monitor_pipeline")
    assert "RUN ID" in table and result["run_id"] in table and "completed" in table
    assert result["run_id"] not in out("monitor_pipeline", "--status", "failed")
    one = out("monitor_pipeline", result["run_id"], "--follow", "--timeout", "5")
    assert "[transform] a attempt 1: succeeded" in one
    assert "Status: completed" in one
    with pytest.raises(CommandError, match="Run not found"):
        call_command("monitor_pipeline", "nope")


def test_monitor_pipeline_follow_prints_new_runs_until_the_timeout():
    definition("watched", NODES)
    table = out("monitor_pipeline", "--follow", "--interval", "0.1", "--timeout", "0.3")
    assert table.startswith("RUN ID")


def test_run_pipeline_retries_a_failed_run(http_server: RecordingServer):
    NotificationChannel.objects.create(
        name="down", driver="generic", config={"endpoint_url": "http://127.0.0.1:9/closed"}
    )
    pipeline = definition(
        "retry-me",
        [{"id": "tell", "type": "notify", "config": {"channels": ["down"]}}],
        max_retries=0,
    )
    failed = DefinitionBasedOrchestrator(pipeline).execute()
    assert failed["status"] == "failed"
    NotificationChannel.objects.filter(name="down").update(
        config={"endpoint_url": http_server.url + "/up"}
    )
    shown = out("run_pipeline", "--retry", failed["run_id"])
    assert f"Retrying run {failed['run_id']} from node tell" in shown
    assert "✓ Pipeline completed successfully" in shown
    assert PipelineRun.objects.get(run_id=failed["run_id"]).status == "completed"
    with pytest.raises(CommandError, match="only a failed run can be retried"):
        call_command("run_pipeline", "--retry", failed["run_id"], stdout=io.StringIO())
    with pytest.raises(CommandError, match="Run not found"):
        call_command("run_pipeline", "--retry", "nope", stdout=io.StringIO())


def test_run_pipeline_runs_a_builtin_by_name():
    shown = out("run_pipeline", "--definition", "health-check", "--dry-run")
    assert "Pipeline Definition: health-check" in shown
    assert "[context] context" in shown and "[intelligence] analyze" in shown


def test_the_openapi_schema_validates():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_schema_and_docs_are_served_without_a_key_and_without_a_cdn(client, settings):
    settings.API_AUTH_REQUIRED = True
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/orchestration/definitions/{name}/execute/",
        "/orchestration/runs/{run_id}/retry/",
        "/notify/channels/{name}/test/",
        "/alerts/incidents/{incident}/close/",
        "/orchestration/schedules/",
    ):
        assert path in paths
    assert "ApiKeyAuth" in schema.json()["components"]["securitySchemes"]
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "drf_spectacular_sidecar" in html
        assert "cdn.jsdelivr" not in html and "unpkg" not in html
