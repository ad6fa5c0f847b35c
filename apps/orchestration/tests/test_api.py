"""REST API: authentication, definitions (list/create/get/update/validate/execute), runs."""

from __future__ import annotations

import json

import pytest

from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db

KEY = "test-api-key-0123456789"
AUTH = {"HTTP_AUTHORIZATION": f"Api-Key {KEY}"}
NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]


@pytest.fixture(autouse=True)
def api_keys(settings):
    settings.API_KEYS = [KEY]
    settings.API_AUTH_REQUIRED = True


def post(client, url, body=None, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body or {})
    return client.post(url, data=data, content_type="application/json", **{**AUTH, **headers})


def test_requests_without_a_key_are_refused(client):
    response = client.get("/orchestration/definitions/")
    assert response.status_code == 401
    assert "Api-Key" in response.json()["error"]


def test_a_wrong_key_is_refused_and_x_api_key_is_accepted(client):
    assert client.get("/orchestration/definitions/", HTTP_X_API_KEY="nope").status_code == 401
    assert client.get("/orchestration/definitions/", HTTP_X_API_KEY=KEY).status_code == 200


def test_auth_can_be_turned_off(client, settings):
    settings.API_AUTH_REQUIRED = False
    assert client.get("/orchestration/definitions/").status_code == 200


def test_list_definitions(client):
    definition("one", NODES)
    definition("two", NODES)
    data = client.get("/orchestration/definitions/", **AUTH).json()
    assert data["count"] == 4
    names = [d["name"] for d in data["definitions"]]
    assert names[:2] == ["default-alert-pipeline", "health-check"]
    assert set(names[2:]) == {"one", "two"}
    assert [d["builtin"] for d in data["definitions"]] == [True, True, False, False]


def test_get_a_definition_and_404_for_unknown(client):
    definition("shown", NODES)
    data = client.get("/orchestration/definitions/shown/", **AUTH).json()
    assert data["name"] == "shown"
    assert data["config"]["nodes"] == NODES
    missing = client.get("/orchestration/definitions/nope/", **AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Definition not found: nope"


def test_create_validates_the_config(client):
    bad = post(client, "/orchestration/definitions/", {"name": "x", "config": {"nodes": []}})
    assert bad.status_code == 400
    assert "Missing 'version' in config" in bad.json()["errors"]
    good = post(
        client,
        "/orchestration/definitions/",
        {"name": "x", "config": {"version": "1", "nodes": NODES}},
    )
    assert good.status_code == 201
    assert PipelineDefinition.objects.get(name="x").created_by == "api"
    again = post(
        client,
        "/orchestration/definitions/",
        {"name": "x", "config": {"version": "1", "nodes": NODES}},
    )
    assert again.status_code == 409


def test_updating_the_config_bumps_the_version(client):
    definition("edit", NODES)
    body = {"config": {"version": "2", "nodes": NODES}}
    response = client.put(
        "/orchestration/definitions/edit/",
        json.dumps(body),
        content_type="application/json",
        **AUTH,
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    refused = client.patch(
        "/orchestration/definitions/edit/",
        json.dumps({"name": "renamed"}),
        content_type="application/json",
        **AUTH,
    )
    assert refused.status_code == 400


def test_validate_reports_errors(client):
    PipelineDefinition.objects.create(name="v", config={"nodes": [{"id": "a", "type": "zzz"}]})
    data = post(client, "/orchestration/definitions/v/validate/").json()
    assert data["valid"] is False
    assert "Missing 'version' in config" in data["errors"]


def test_execute_runs_in_process_without_a_broker_and_status_is_readable(client):
    definition("run-me", NODES)
    response = post(
        client, "/orchestration/definitions/run-me/execute/", {"payload": {"x": 1}, "source": "t"}
    )
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "completed"
    status = client.get(f"/orchestration/runs/{result['run_id']}/", **AUTH).json()
    assert status["executed_nodes"] == ["a"]
    assert status["run_id"] == result["run_id"]


def test_execute_rejects_malformed_json_and_inactive_definitions(client):
    d = definition("off", NODES)
    assert post(client, "/orchestration/definitions/off/execute/", "{nope").status_code == 400
    d.is_active = False
    d.save()
    assert post(client, "/orchestration/definitions/off/execute/").status_code == 404
    assert PipelineRun.objects.count() == 0


def test_unknown_run_is_404(client):
    assert client.get("/orchestration/runs/nope/", **AUTH).status_code == 404


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_execute_with_a_broker_answers_202_with_a_status_url(client, celery_on_test_redis):
    definition("queued", NODES)
    response = post(
        client, "/orchestration/definitions/queued/execute/", {"payload": {}, "wait": 0}
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"/orchestration/runs/{body['run_id']}/"
    assert PipelineRun.objects.get(run_id=body["run_id"]).status == "pending"
