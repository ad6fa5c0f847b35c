"""The OpenAI provider, through the real openai SDK, against a local chat completions server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderTimeoutError
from apps.intelligence.providers import get_provider
from apps.intelligence.tests.servers import Reply, ScriptedServer, chat_completion

API_KEY = "sk-test-SECRETSECRET1234567890"

VALID_REPLY = {
    "summary": "web-1 is running out of memory",
    "recommendations": [
        {
            "type": "memory",
            "priority": "critical",
            "title": "Restart the leaking worker",
            "description": "The gunicorn workers grew to 90% of RAM.",
            "details": {"host": "web-1"},
            "actions": ["systemctl restart gunicorn", "Check RSS growth over 24h"],
        },
        {
            "type": "process",
            "priority": "medium",
            "title": "Set max_requests",
            "description": "Recycle workers periodically.",
        },
    ],
}


def provider(server: ScriptedServer, **config: Any):
    base = {"api_key": API_KEY, "base_url": f"{server.url}/v1", "max_retries": 0, "timeout": 5}
    return get_provider("openai", **{**base, **config})


def context() -> AnalysisContext:
    return AnalysisContext(
        checks=[{"checker": "memory", "status": "critical", "message": "memory 97%", "metrics": {}}]
    )


def assert_no_key(output: dict[str, Any]) -> None:
    assert API_KEY not in json.dumps(output)


def test_a_valid_structured_reply_becomes_recommendations(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY))))

    analysis = provider(api_server).analyze(incident, context())
    output = analysis.to_dict()

    assert output["provider"] == "openai"
    assert output["provider_used"] == "openai"
    assert output["fallback_used"] is False
    assert output["count"] == 2
    assert output["summary"] == "web-1 is running out of memory"
    assert output["recommendations"][0]["priority"] == "critical"
    assert output["recommendations"][0]["actions"][0] == "systemctl restart gunicorn"
    assert output["recommendations"][1]["actions"] == []
    assert output["tokens_used"] == 500
    assert output["exchange"]["reply"] == json.dumps(VALID_REPLY)
    assert_no_key(output)


def test_the_request_carries_model_incident_and_json_mode(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY))))

    provider(api_server, model="gpt-test", max_tokens=700).analyze(incident, context())

    (request,) = api_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-test"
    assert request.body["max_tokens"] == 700
    assert request.body["response_format"] == {"type": "json_object"}
    roles = [m["role"] for m in request.body["messages"]]
    assert roles == ["system", "user"]
    user = request.body["messages"][1]["content"]
    assert "HighMemoryUsage on web-1" in user
    assert "memory 97%" in user


def test_the_model_defaults_to_the_openai_model_setting(api_server, incident, settings):
    settings.OPENAI_MODEL = "gpt-from-settings"
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY))))

    provider(api_server).analyze(incident, context())

    assert api_server.requests[0].body["model"] == "gpt-from-settings"


def test_the_api_key_setting_is_used_and_never_recorded(api_server, incident, settings):
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = f"{api_server.url}/v1"
    echo = dict(VALID_REPLY, summary=f"your key is {API_KEY}")
    api_server.replies.append(Reply(body=chat_completion(json.dumps(echo))))

    analysis = get_provider("openai", max_retries=0).analyze(incident, context())

    assert api_server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert analysis.fallback_used is False
    assert_no_key(analysis.to_dict())


def test_secrets_in_alert_labels_are_not_sent(api_server, incident):
    incident["alerts"][0]["labels"]["api_token"] = "hunter2-hunter2"
    incident["description"] = "failing with Authorization: Bearer abcdefghijklmnopqrstuvwxyz"
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY))))

    provider(api_server).analyze(incident, context())

    sent = json.dumps(api_server.requests[0].body)
    assert "hunter2-hunter2" not in sent
    assert "abcdefghijklmnopqrstuvwxyz" not in sent
    assert "[REDACTED]" in sent


def test_a_malformed_json_reply_falls_back_to_local(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion("Sure! Here are my thoughts: {oops")))

    output = provider(api_server).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["provider"] == "openai"
    assert output["provider_used"] == "local"
    assert "not valid JSON" in output["fallback_reason"]
    assert output["error"]["code"] == "invalid_reply"
    assert output["exchange"]["reply"] == "Sure! Here are my thoughts: {oops"
    # The tokens were spent even though the reply was useless.
    assert output["tokens_used"] == 500
    assert output["recommendations"][0]["type"] == "memory"
    assert_no_key(output)


def test_a_reply_that_does_not_match_the_schema_falls_back(api_server, incident):
    bad = {"recommendations": [{"type": "memory", "priority": "urgent", "title": "x"}]}
    api_server.replies.append(Reply(body=chat_completion(json.dumps(bad))))

    output = provider(api_server).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert "does not match the schema" in output["fallback_reason"]


def test_a_reply_in_a_markdown_fence_is_accepted(api_server, incident):
    fenced = "```json\n" + json.dumps(VALID_REPLY) + "\n```"
    api_server.replies.append(Reply(body=chat_completion(fenced)))

    analysis = provider(api_server).analyze(incident, context())

    assert analysis.fallback_used is False
    assert len(analysis) == 2


def test_a_truncated_reply_falls_back(api_server, incident):
    api_server.replies.append(
        Reply(body=chat_completion('{"recommendations": [', finish_reason="length"))
    )

    output = provider(api_server).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert "cut off" in output["fallback_reason"]


def test_a_server_error_falls_back_and_is_retryable(api_server, incident):
    api_server.replies.append(Reply(500, {"error": {"message": "boom", "type": "server_error"}}))

    output = provider(api_server).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["error"]["code"] == "http_error"
    assert output["error"]["status_code"] == 500
    assert output["error"]["retryable"] is True
    assert "HTTP 500" in output["fallback_reason"]
    assert len(api_server.requests) == 1  # max_retries 0
    assert_no_key(output)


def test_the_sdk_retries_a_server_error_when_allowed(api_server, incident):
    api_server.replies += [
        Reply(503, {"error": {"message": "busy"}}),
        Reply(body=chat_completion(json.dumps(VALID_REPLY))),
    ]

    analysis = provider(api_server, max_retries=1).analyze(incident, context())

    assert analysis.fallback_used is False
    assert len(api_server.requests) == 2


def test_an_authentication_error_is_permanent(api_server, incident):
    api_server.replies.append(
        Reply(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}"}})
    )

    output = provider(api_server).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["error"]["retryable"] is False
    assert_no_key(output)


def test_a_timeout_falls_back(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY)), delay=2.0))

    output = provider(api_server, timeout=0.3).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["error"]["code"] == "timeout"
    assert output["error"]["retryable"] is True
    assert "no reply within 0.3s" in output["fallback_reason"]
    assert output["exchange"]["duration_ms"] < 1900


def test_a_timeout_without_fallback_raises_a_retryable_error(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion("{}"), delay=2.0))

    with pytest.raises(ProviderTimeoutError) as caught:
        provider(api_server, timeout=0.3, fallback=False).analyze(incident, context())

    assert caught.value.retryable is True


def test_a_missing_api_key_falls_back_without_sending(api_server, incident, settings):
    settings.OPENAI_BASE_URL = f"{api_server.url}/v1"
    output = get_provider("openai").analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["error"]["code"] == "missing_api_key"
    assert "OPENAI_API_KEY" in output["fallback_reason"]
    assert output["exchange"]["sent"] is False
    assert api_server.requests == []
    assert output["count"] >= 1


def test_an_exhausted_token_budget_falls_back_without_sending(api_server, incident):
    output = provider(api_server, token_budget=200).analyze(incident, context()).to_dict()

    assert output["fallback_used"] is True
    assert output["error"]["code"] == "budget_exceeded"
    assert "Token budget exceeded" in output["fallback_reason"]
    assert api_server.requests == []


def test_tokens_spent_earlier_in_the_run_count_against_the_budget(api_server, incident, settings):
    settings.INTELLIGENCE_TOKEN_BUDGET = 3000
    spent = AnalysisContext(checks=context().checks, tokens_used=2900)

    output = provider(api_server).analyze(incident, spent).to_dict()

    assert output["error"]["code"] == "budget_exceeded"
    assert api_server.requests == []


def test_the_budget_shrinks_max_tokens_rather_than_refusing(api_server, incident):
    api_server.replies.append(Reply(body=chat_completion(json.dumps(VALID_REPLY))))

    provider(api_server, token_budget=2500, max_tokens=4000).analyze(incident, context())

    assert 128 <= api_server.requests[0].body["max_tokens"] < 2500


def _completion(**fields: object) -> dict:
    return {**chat_completion(json.dumps(VALID_REPLY)), **fields}


def _choice(**fields: object) -> dict:
    return _completion(choices=[{"index": 0, "finish_reason": "stop", **fields}])


@pytest.mark.parametrize(
    "body",
    [
        _completion(choices=None),
        _completion(choices="many"),
        _completion(choices=[None]),
        _choice(message=None),
        _choice(message={"role": "assistant", "content": ["a", "b"]}),
        _choice(message={"role": "assistant", "content": 42}),
        _completion(usage="lots", choices=[{"message": {"content": "[]"}}]),
        {},
        [],
        "not json at all",
    ],
    ids=[
        "choices-null",
        "choices-string",
        "choice-null",
        "message-null",
        "content-list",
        "content-number",
        "usage-string",
        "empty-object",
        "array",
        "not-json",
    ],
)
def test_a_malformed_completion_falls_back_to_local_marked(api_server, incident, body):
    api_server.replies.append(Reply(body=body))

    analysis = provider(api_server).analyze(incident, context())

    assert analysis.fallback_used is True
    assert analysis.provider_used == "local"
    assert analysis.error["code"] == "invalid_reply"
    assert_no_key(analysis.to_dict())
