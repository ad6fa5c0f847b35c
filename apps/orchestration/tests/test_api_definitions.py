"""Definitions over the API: typed fields, built-ins, versions, dry run, execute, secrets."""

from __future__ import annotations

import pytest

from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db

URL = "/orchestration/definitions/"
NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]
CONFIG = {"version": "1", "nodes": NODES}


def create(api, **body):
    return api.write.post(URL, {"name": "p", "config": CONFIG, **body}, format="json")


def test_builtins_are_listed_readable_and_executable_by_name(api):
    listed = api.read.get(URL).json()
    builtins = [d for d in listed["definitions"] if d["builtin"]]
    assert [d["name"] for d in builtins] == ["default-alert-pipeline", "health-check"]
    health = api.read.get(URL + "health-check/").json()
    assert [n["type"] for n in health["config"]["nodes"]] == ["context", "intelligence", "notify"]
    assert health["config"]["nodes"][1]["config"]["provider"] == "local"

    result = api.write.post(URL + "health-check/execute/", {}, format="json")
    assert result.status_code == 200
    body = result.json()
    assert body["definition"] == "health-check"
    assert body["status"] == "completed"
    assert body["executed_nodes"] == ["context", "analyze", "notify"]


def test_builtins_are_read_only_and_their_names_reserved(api):
    assert api.write.patch(URL + "health-check/", {"is_active": False}).status_code == 405
    assert api.write.delete(URL + "default-alert-pipeline/").status_code == 405
    taken = create(api, name="health-check")
    assert taken.status_code == 400
    assert "built-in" in taken.json()["error"]


def test_create_then_get_and_409_for_a_duplicate(api):
    made = create(api, description="d", tags={"team": "ops"})
    assert made.status_code == 201
    assert made.json()["version"] == 1 and made.json()["tags"] == {"team": "ops"}
    assert api.read.get(URL + "p/").json()["config"] == CONFIG
    assert create(api).status_code == 409
    assert PipelineDefinition.objects.get(name="p").created_by == "api"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "a/b"}, "name", "no '/'"),
        ({"name": "x" * 101}, "name", "no more than 100"),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": 5}, "name", "Must be a string"),
        ({"description": None}, "description", "may not be null"),
        ({"description": ["x"]}, "description", "Must be a string"),
        ({"description": "x" * 10_001}, "description", "no more than 10000"),
        ({"tags": "oops"}, "tags", "dictionary"),
        ({"tags": {"a": 1}}, "tags", "Must be a string"),
        ({"is_active": "nope"}, "is_active", "true or false"),
        ({"is_active": 1}, "is_active", "true or false"),
        ({"config": []}, "config", "JSON object"),
        ({"surprise": 1}, "non_field_errors", "Unknown or read-only fields: surprise"),
    ],
)
def test_every_field_is_typed(api, body, field, message):
    response = create(api, **body)
    assert response.status_code == 400, response.content
    data = response.json()
    assert message in data["error"]
    assert field in data["fields"]
    assert not PipelineDefinition.objects.exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"nodes": NODES}, "Missing 'version' in config"),
        ({"version": "1", "nodes": [{"id": {}, "type": "transform"}]}, "'id' must be a string"),
        ({"version": "1", "nodes": [{"id": "a", "type": ["x"]}]}, "has unknown type"),
        (
            {
                "version": "1",
                "nodes": [{"id": "a", "type": "intelligence", "config": {"provider": {}}}],
            },
            "provider must be a string",
        ),
    ],
)
def test_an_invalid_config_lists_its_errors(api, config, message):
    response = create(api, config=config)
    assert response.status_code == 400
    assert response.json()["error"] == "Pipeline definition invalid"
    assert any(message in e for e in response.json()["errors"]), response.json()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "p", "config": {"version": NaN, "nodes": []}}',
        b'{"name": "p", "config": {"version": "1", "nodes": [], "x": Infinity}}',
        b'{"name": "p", "description": 1e400}',
        b'{"name": "p\\u0000", "config": {}}',
        b'{"name": "p", "config": {"version": "1\\u0000", "nodes": []}}',
        b"[" * 3000,
        b'{"a": ' * 100 + b"1" + b"}" * 100,
        b"\xff\xfe",
        b"{nope",
    ],
)
def test_unstorable_json_is_a_400(api, raw):
    response = api.write.post(URL, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]


def test_nul_and_overlong_names_in_the_path_are_4xx(api):
    assert api.read.get(URL + "a%00b/").status_code == 400
    assert api.read.get(URL + "x" * 300 + "/").status_code == 400
    assert api.read.get("/orchestration/runs/?status=%00").status_code == 400


def test_update_bumps_the_version_only_when_the_config_changes(api):
    create(api)
    patched = api.write.patch(URL + "p/", {"description": "new"}, format="json").json()
    assert patched["version"] == 1 and patched["description"] == "new"
    changed = {"version": "2", "nodes": NODES}
    put = api.write.put(URL + "p/", {"config": changed}, format="json").json()
    assert put["version"] == 2
    assert api.write.patch(URL + "p/", {"name": "renamed"}, format="json").status_code == 400
    off = api.write.patch(URL + "p/", {"is_active": False}, format="json").json()
    assert off["is_active"] is False
    assert api.write.post(URL + "p/execute/", {}, format="json").status_code == 404


def test_delete(api):
    create(api)
    assert api.write.delete(URL + "p/").status_code == 204
    assert api.read.get(URL + "p/").status_code == 404


def test_dry_run_shows_the_order_and_both_branches(api):
    definition(
        "branchy",
        [
            {"id": "start", "type": "transform", "config": {"source_node": "payload"}},
            {
                "id": "check",
                "type": "condition",
                "config": {
                    "if": {"path": "payload.x", "op": "eq", "value": 1},
                    "then": "yes",
                    "else": "no",
                },
            },
            {"id": "yes", "type": "transform", "config": {"source_node": "payload"}, "next": None},
            {"id": "no", "type": "transform", "config": {"source_node": "payload"}},
        ],
    )
    plan = api.read.post(URL + "branchy/dry-run/").json()
    assert plan["valid"] is True
    assert plan["order"] == ["start", "check", "yes", "no"]
    assert plan["paths"] == [["start", "check", "yes"], ["start", "check", "no"]]
    check = plan["steps"][1]
    assert check["branches"] == {"then": "yes", "else": "no"}
    assert check["queue"] == "nodes.condition"
    assert PipelineRun.objects.count() == 0


def test_validate_reports_errors_of_a_stored_definition(api):
    PipelineDefinition.objects.create(name="v", config={"nodes": [{"id": "a", "type": "zzz"}]})
    data = api.read.post(URL + "v/validate/").json()
    assert data["valid"] is False
    assert "Missing 'version' in config" in data["errors"]
    dry = api.read.post(URL + "v/dry-run/").json()
    assert dry["valid"] is False and dry["order"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trace_id": {"a": 1}}, "trace_id"),
        ({"incident_id": True}, "incident_id"),
        ({"incident_id": 999}, "incident_id"),
        ({"payload": [1]}, "payload"),
        ({"wait": "soon"}, "wait"),
        ({"wait": 61}, "wait"),
        ({"source": "s" * 65}, "source"),
    ],
)
def test_execute_refuses_wrong_types(api, body, field):
    definition("run-me", NODES)
    response = api.write.post(URL + "run-me/execute/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert PipelineRun.objects.count() == 0


def test_execute_returns_the_seed_result(api):
    definition("run-me", NODES)
    response = api.write.post(
        URL + "run-me/execute/",
        {"payload": {"x": 1}, "source": "t", "trace_id": "tr-1"},
        format="json",
    )
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "completed" and result["trace_id"] == "tr-1"
    assert set(result) >= {
        "trace_id", "run_id", "definition", "definition_version", "status", "executed_nodes",
        "skipped_nodes", "node_results", "duration_ms", "error",
    }  # fmt: skip


SECRET_URL = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"


def secret_config() -> dict:
    return {
        "version": "1",
        "nodes": [
            {
                "id": "ai",
                "type": "intelligence",
                "config": {"provider": "openai", "provider_config": {"api_key": "sk-SECRET"}},
                "next": "tell",
            },
            {
                "id": "tell",
                "type": "notify",
                "config": {"driver": "slack", "driver_config": {"webhook_url": SECRET_URL}},
            },
        ],
    }


def test_inline_secrets_are_masked_and_an_echoed_mask_keeps_them(api):
    made = create(api, config=secret_config())
    assert made.status_code == 201, made.content
    shown = api.read.get(URL + "p/").json()
    text = str(shown) + str(made.json()) + str(api.read.get(URL).json())
    assert "SECRET" not in text
    nodes = shown["config"]["nodes"]
    assert nodes[0]["config"]["provider_config"]["api_key"] == "****"
    assert nodes[1]["config"]["driver_config"]["webhook_url"] == "https://hooks.slack.com/****"

    # Send the shown config back with one other change: secrets kept, version bumped.
    shown["config"]["nodes"][0]["config"]["provider_config"]["model"] = "gpt-x"
    saved = api.write.put(URL + "p/", {"config": shown["config"]}, format="json")
    assert saved.status_code == 200
    stored = PipelineDefinition.objects.get(name="p").config
    assert stored["nodes"][0]["config"]["provider_config"]["api_key"] == "sk-SECRET"
    assert stored["nodes"][1]["config"]["driver_config"]["webhook_url"] == SECRET_URL
    assert saved.json()["version"] == 2

    # A masked value edited by hand is refused, never stored with the mask in it.
    shown["config"]["nodes"][1]["config"]["driver_config"]["webhook_url"] += "/x"
    refused = api.write.put(URL + "p/", {"config": shown["config"]}, format="json")
    assert refused.status_code == 400
    assert "still contains the mask" in str(refused.json()["errors"])
    assert PipelineDefinition.objects.get(name="p").config == stored


def test_run_records_returned_by_the_api_mask_inline_secrets(api):
    config = secret_config()
    config["nodes"] = [
        {
            "id": "tell",
            "type": "notify",
            "config": {"driver": "generic", "driver_config": {
                "endpoint_url": "http://127.0.0.1:9/hook?token=SECRET",
                "headers": {"Authorization": "Bearer SECRET"},
            }},
        }
    ]  # fmt: skip
    PipelineDefinition.objects.create(name="leaky", config=config)
    result = api.write.post(URL + "leaky/execute/", {}, format="json").json()
    detail = api.read.get(f"/orchestration/runs/{result['run_id']}/").json()
    assert "SECRET" not in str(detail) and "SECRET" not in str(result)
    assert detail["config"]["nodes"][0]["config"]["driver_config"]["headers"] == {
        "Authorization": "****"
    }
