"""The intelligence node, called directly with a NodeContext."""

from __future__ import annotations

import json

import pytest

from apps.intelligence.tests.servers import Reply, chat_completion
from apps.orchestration.errors import NodeError
from apps.orchestration.nodes import NodeContext, get_node_handler

API_KEY = "sk-node-test-0123456789abcdef"


def run(config, **ctx):
    handler = get_node_handler("intelligence")
    context = NodeContext(trace_id="trace-1", run_id="run-1", node_id="analyze", **ctx)
    return handler.execute(context, {"id": "analyze", **config})


CONTEXT_OUTPUT = {
    "gather": {
        "system": {"cpu": {"percent": 20.0}, "memory": {"percent": 97.0}},
        "checks": [
            {
                "checker": "disk",
                "status": "warning",
                "message": "/ at 90%",
                "metrics": {"percent": 90.0},
            }
        ],
    }
}


def test_the_local_provider_analyses_earlier_outputs():
    result = run({"provider": "local"}, previous_outputs=CONTEXT_OUTPUT)

    assert result.node_type == "intelligence"
    assert result.node_id == "analyze"
    assert not result.has_errors
    out = result.output
    assert out["provider"] == "local"
    assert out["count"] == 2
    assert [r["type"] for r in out["recommendations"]] == ["memory", "disk"]
    assert out["summary"] == "High memory usage"
    assert out["description"] == out["recommendations"][0]["description"]
    assert out["fallback_used"] is False
    assert out["incident_id"] is None
    json.dumps(out)  # recorded as JSON by the engine


def test_a_scan_with_no_earlier_outputs_still_answers():
    result = run({"provider": "local", "provider_config": {"collect_live": False}})

    assert not result.has_errors
    assert result.output["recommendations"] == []
    assert result.output["count"] == 0
    assert result.output["summary"] == "No issues found"


def test_validate_config_requires_a_provider():
    handler = get_node_handler("intelligence")

    assert handler.validate_config({}) == ["Missing required field: provider"]


def test_validate_config_names_the_known_providers():
    handler = get_node_handler("intelligence")

    assert handler.validate_config({"provider": "nope"}) == [
        "Unknown provider: nope. Available: ['local', 'openai', 'claude', 'openai_compatible']"
    ]


def test_validate_config_checks_the_provider_config():
    handler = get_node_handler("intelligence")

    errors = handler.validate_config({"provider": "openai", "provider_config": {"timeout": -1}})
    assert errors == ["Option timeout of provider openai must be positive"]
    errors = handler.validate_config({"provider": "local", "provider_config": {"modle": "x"}})
    assert errors[0].startswith("Unknown option for provider local: modle")
    assert handler.validate_config({"provider": "openai", "provider_config": {"model": "m"}}) == []


def test_an_invalid_config_is_a_permanent_error_in_the_result():
    result = run({"provider": "unknown"})

    assert result.has_errors
    assert "Unknown provider: unknown" in result.errors[0]


def test_an_ai_provider_failure_falls_back_and_the_node_succeeds(api_server):
    api_server.replies.append(Reply(500, {"error": {"message": "down"}}))
    config = {
        "provider": "openai",
        "provider_config": {
            "api_key": API_KEY,
            "base_url": f"{api_server.url}/v1",
            "max_retries": 0,
        },
    }

    result = run(config, previous_outputs=CONTEXT_OUTPUT)

    assert not result.has_errors
    assert result.output["fallback_used"] is True
    assert result.output["provider_used"] == "local"
    assert result.output["count"] == 2
    assert API_KEY not in json.dumps(result.output)


def test_the_ai_reply_and_prompt_are_recorded(api_server):
    reply = {
        "summary": "Memory is nearly exhausted",
        "recommendations": [
            {"type": "memory", "priority": "high", "title": "Free memory", "description": "x"}
        ],
    }
    api_server.replies.append(Reply(body=chat_completion(json.dumps(reply))))
    config = {
        "provider": "openai",
        "provider_config": {"api_key": API_KEY, "base_url": f"{api_server.url}/v1"},
    }

    out = run(config, previous_outputs=CONTEXT_OUTPUT).output

    assert out["summary"] == "Memory is nearly exhausted"
    assert out["exchange"]["messages"][1]["content"].count("/ at 90%") == 1
    assert json.loads(out["exchange"]["reply"]) == reply
    assert out["tokens_used"] == 500


def test_tokens_spent_by_an_earlier_intelligence_node_count_against_the_budget(
    api_server, settings
):
    settings.INTELLIGENCE_TOKEN_BUDGET = 1000
    earlier = {"first": {"provider": "openai", "recommendations": [], "tokens_used": 990}}
    config = {
        "provider": "openai",
        "provider_config": {"api_key": API_KEY, "base_url": f"{api_server.url}/v1"},
    }

    out = run(config, previous_outputs={**CONTEXT_OUTPUT, **earlier}).output

    assert out["error"]["code"] == "budget_exceeded"
    assert api_server.requests == []


def test_without_fallback_a_transient_failure_is_a_retryable_node_error(api_server):
    api_server.replies.append(Reply(503, {"error": {"message": "overloaded"}}))
    config = {
        "provider": "openai",
        "provider_config": {
            "api_key": API_KEY,
            "base_url": f"{api_server.url}/v1",
            "max_retries": 0,
            "fallback": False,
        },
    }

    with pytest.raises(NodeError) as caught:
        run(config, previous_outputs=CONTEXT_OUTPUT)

    assert caught.value.retryable is True
    assert "HTTP 503" in caught.value.message


def test_without_fallback_a_missing_key_is_a_permanent_node_error():
    config = {"provider": "openai", "provider_config": {"fallback": False}}

    with pytest.raises(NodeError) as caught:
        run(config, previous_outputs=CONTEXT_OUTPUT)

    assert caught.value.retryable is False


def test_ingest_facts_reach_the_prompt(api_server):
    api_server.replies.append(Reply(body=chat_completion('{"recommendations": []}')))
    outputs = {"ingest": {"severity": "critical", "alert_fingerprint": "fp-123", "raw": {"x": 1}}}
    config = {
        "provider": "openai",
        "provider_config": {"api_key": API_KEY, "base_url": f"{api_server.url}/v1"},
    }

    run(config, previous_outputs=outputs)

    prompt = api_server.requests[0].body["messages"][1]["content"]
    assert "fp-123" in prompt
    assert '"raw"' not in prompt
