"""Admin: definitions edited in the JSON editor, validated per node with a graph, versions
recorded; runs read-only with a timeline, retry and cancel through ``engine.control``."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.contrib.auth.models import User

from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.tests.helpers import definition
from tests.support.sink import CountingSink

pytestmark = pytest.mark.django_db

NODES = [{"id": "a", "type": "transform", "config": {"source_node": "x"}}]
EDITOR_TEXT = r'<textarea id="id_config_textarea"[^>]*>(.*?)</textarea>'
SECRET_URL = "http://127.0.0.1:9/hooks/T000/B000/s3cr3t?token=abc"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def form(config, name="p", **extra):
    return {
        "name": name,
        "description": "",
        "is_active": "on",
        "config": config if isinstance(config, str) else json.dumps(config),
        "tags": "{}",
        **extra,
    }


def change_url(d: PipelineDefinition) -> str:
    return f"/admin/orchestration/pipelinedefinition/{d.pk}/change/"


def test_an_invalid_config_is_refused_with_its_errors(admin_client):
    response = admin_client.post(
        "/admin/orchestration/pipelinedefinition/add/", form({"nodes": []})
    )
    assert response.status_code == 200
    assert "Missing &#x27;version&#x27; in config" in response.content.decode()
    assert not PipelineDefinition.objects.exists()


def test_text_that_is_not_json_is_refused_and_shown_back_as_typed(admin_client):
    response = admin_client.post(
        "/admin/orchestration/pipelinedefinition/add/", form('{"nodes": [')
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid JSON" in page
    assert "{&quot;nodes&quot;: [" in page
    assert not PipelineDefinition.objects.exists()


def test_each_error_is_listed_under_its_node_and_the_node_drawn_red(admin_client):
    d = definition("p", [*NODES, {"id": "b", "type": "transform", "next": "nowhere"}])
    config = d.config | {"nodes": [*NODES, {"id": "b", "type": "frobnicate"}]}

    page = admin_client.post(change_url(d), form(config)).content.decode()

    block = re.search(r'<div class="node-error" data-node="b">(.*?)</div>', page, re.S)
    assert block and "Node b has unknown type: frobnicate" in block.group(1)
    assert re.search(r'<g class="node invalid" data-node="b"', page)
    d.refresh_from_db()
    assert d.version == 1


def test_editing_the_config_bumps_the_version_and_records_a_revision(admin_client):
    d = definition("p", NODES)
    changed = {"version": "2", "nodes": NODES}

    response = admin_client.post(change_url(d), form(changed))

    assert response.status_code == 302
    d.refresh_from_db()
    assert d.version == 2
    assert list(d.revisions.values_list("version", "author")) == [(2, "admin"), (1, "")]
    diff = admin_client.get(f"/admin/orchestration/pipelinedefinition/{d.pk}/revisions/?b=2")
    text = diff.content.decode()
    assert '<div class="del">-  &quot;version&quot;: &quot;1.0&quot;</div>' in text
    assert '<div class="add">+  &quot;version&quot;: &quot;2&quot;</div>' in text


def test_saving_unchanged_keeps_the_version(admin_client):
    d = definition("p", NODES)
    assert admin_client.post(change_url(d), form(d.config)).status_code == 302
    d.refresh_from_db()
    assert d.version == 1 and d.revisions.count() == 1


def test_the_page_shows_the_graph_with_one_drawing_per_node(admin_client):
    nodes = [
        {"id": "c", "type": "condition",
         "config": {"if": {"path": "payload.x", "op": "eq", "value": 1}, "then": "t", "else": "e"}},
        {"id": "t", "type": "transform", "config": {"source_node": "c"}, "next": None},
        {"id": "e", "type": "transform", "config": {"source_node": "c"}},
    ]  # fmt: skip
    d = definition("p", nodes)
    page = admin_client.get(change_url(d)).content.decode()
    svg = re.search(r"<svg[^>]*pipeline-graph.*?</svg>", page, re.S).group(0)
    assert svg.count('<g class="node') == len(nodes)
    assert '<g class="node entry" data-node="c"' in svg
    assert 'data-from="c" data-to="t" data-label="then"' in svg
    assert 'data-from="c" data-to="e" data-label="else"' in svg


def test_inline_secrets_are_masked_on_the_page_and_kept_when_echoed(admin_client):
    notify = {
        "id": "n",
        "type": "notify",
        "config": {"driver": "slack", "driver_config": {"webhook_url": SECRET_URL}},
    }
    d = definition("p", [notify])
    page = admin_client.get(change_url(d)).content.decode()
    assert "s3cr3t" not in page
    shown = json.loads(html.unescape(re.search(EDITOR_TEXT, page, re.S).group(1)))

    assert admin_client.post(change_url(d), form(shown)).status_code == 302
    d.refresh_from_db()
    assert d.config["nodes"][0]["config"]["driver_config"]["webhook_url"] == SECRET_URL
    edited = json.loads(json.dumps(shown).replace("http://127.0.0.1:9/", "http://localhost:9/"))
    page = admin_client.post(change_url(d), form(edited)).content.decode()
    assert "still contains the mask" in page
    d.refresh_from_db()
    assert d.config["nodes"][0]["config"]["driver_config"]["webhook_url"] == SECRET_URL


def test_dry_run_lists_the_order_and_paths(admin_client):
    d = definition("p", [*NODES, {"id": "b", "type": "transform", "config": {"source_node": "a"}}])
    page = admin_client.get(f"/admin/orchestration/pipelinedefinition/{d.pk}/dry-run/")
    assert page.status_code == 200
    assert "a → b" in page.content.decode()


def test_run_now_starts_a_run_and_goes_to_its_page(admin_client):
    d = definition("p", NODES)
    response = admin_client.post(
        f"/admin/orchestration/pipelinedefinition/{d.pk}/run/", {"payload": '{"x": 1}'}
    )
    run = PipelineRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/orchestration/pipelinerun/{run.pk}/change/"
    assert run.source == "admin" and run.payload == {"x": 1}


def test_run_now_refuses_a_payload_that_is_not_an_object(admin_client):
    d = definition("p", NODES)
    page = admin_client.post(
        f"/admin/orchestration/pipelinedefinition/{d.pk}/run/", {"payload": "[1]"}
    ).content.decode()
    assert "Invalid payload: the payload must be a JSON object" in page
    assert not PipelineRun.objects.exists()


def test_duplicate_makes_an_inactive_copy(admin_client):
    d = definition("p", NODES)
    response = admin_client.post(f"/admin/orchestration/pipelinedefinition/{d.pk}/duplicate/")
    copy = PipelineDefinition.objects.get(name="p (copy)")
    assert response["Location"] == change_url(copy)
    assert copy.config == d.config and not copy.is_active


def test_schedule_creates_a_beat_schedule_and_explains_bad_input(admin_client):
    from apps.orchestration import schedules

    d = definition("p", NODES)
    url = f"/admin/orchestration/pipelinedefinition/{d.pk}/schedule/"
    bad = admin_client.post(url, {"every": "5 parsecs", "environment": "production"})
    assert "is not a duration" in bad.content.decode()
    assert admin_client.post(url, {"every": "5m", "environment": "production"}).status_code == 302
    assert [s.when for s in schedules.list_schedules("p")] == ["every 5m"]


def test_a_run_page_is_read_only_with_a_timeline_and_the_masked_config(admin_client):
    nodes = [
        *NODES,
        {"id": "n", "type": "notify", "required": False,
         "config": {"driver": "slack", "driver_config": {"webhook_url": SECRET_URL}}},
    ]  # fmt: skip
    result = DefinitionBasedOrchestrator(definition("p", nodes, max_retries=0)).execute(
        payload={"k": "v"}
    )
    run = PipelineRun.objects.get(run_id=result["run_id"])

    page = admin_client.get(f"/admin/orchestration/pipelinerun/{run.pk}/change/").content.decode()

    assert page.count('<tr class="execution"') == 2
    assert 'data-node="a" data-status="succeeded"' in page
    assert run.trace_id in page
    assert "s3cr3t" not in page
    assert 'name="_save"' not in page and "deletelink" not in page
    assert 'id="cancel-run"' not in page


def test_retry_from_the_admin_resumes_a_failed_run_at_its_failed_node(admin_client, settings):
    sink = CountingSink()
    try:
        nodes = [*NODES, {"id": "n", "type": "notify", "config": {"channels": ["ops"]}}]
        from apps.notify.models import NotificationChannel

        channel = NotificationChannel.objects.create(
            name="ops",
            driver="generic",
            config={"endpoint_url": sink.url.replace("127.0.0.1", "127.0.0.2")},
        )
        # 127.0.0.2 is not allow-listed: the outbound guard refuses it.
        settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
        result = DefinitionBasedOrchestrator(definition("p", nodes, max_retries=0)).execute()
        run = PipelineRun.objects.get(run_id=result["run_id"])
        assert run.status == "failed"
        channel.config = {"endpoint_url": sink.url}
        channel.save()

        response = admin_client.post(f"/admin/orchestration/pipelinerun/{run.pk}/retry/")

        assert response.status_code == 302
        run.refresh_from_db()
        assert run.status == "completed"
        attempts = list(run.stage_executions.filter(node_id="n").values_list("attempt", "status"))
        assert attempts == [(1, "failed"), (2, "succeeded")]
        assert run.stage_executions.filter(node_id="a").count() == 1
    finally:
        sink.close()


def test_retrying_a_completed_run_says_why_not(admin_client):
    result = DefinitionBasedOrchestrator(definition("p", NODES)).execute()
    run = PipelineRun.objects.get(run_id=result["run_id"])
    response = admin_client.post(f"/admin/orchestration/pipelinerun/{run.pk}/retry/", follow=True)
    assert "only a failed run can be retried" in response.content.decode()


def test_cancel_stops_an_open_run(admin_client):
    d = definition("p", NODES)
    run = PipelineRun.objects.create(
        definition=d, definition_name="p", config=d.config, trace_id="t"
    )
    response = admin_client.post(f"/admin/orchestration/pipelinerun/{run.pk}/cancel/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_runs_are_searchable_by_trace_id_and_filterable_by_source(admin_client):
    d = definition("p", NODES)
    PipelineRun.objects.create(
        definition=d, definition_name="p", config=d.config, trace_id="findme-1", source="grafana"
    )
    PipelineRun.objects.create(
        definition=d, definition_name="p", config=d.config, trace_id="other-2", source="admin"
    )
    found = admin_client.get("/admin/orchestration/pipelinerun/?q=findme").content.decode()
    assert "1 result" in found
    filtered = admin_client.get("/admin/orchestration/pipelinerun/?source=admin").content.decode()
    assert "other-2" not in filtered or "grafana" not in filtered
    assert admin_client.get("/admin/orchestration/pipelinerun/?q=12345").status_code == 200
