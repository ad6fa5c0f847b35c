"""The Claude provider: fallback without a key, and the anthropic SDK against a local server."""

from __future__ import annotations

import json

import pytest

from apps.intelligence.context import AnalysisContext
from apps.intelligence.providers import get_provider
from apps.intelligence.tests.servers import Reply, anthropic_message

API_KEY = "sk-ant-test-abcdefghijklmnop"
REPLY = {
    "summary": "Disk full",
    "recommendations": [
        {"type": "disk", "priority": "critical", "title": "Clean /var/log", "description": "d"}
    ],
}


def test_a_missing_key_falls_back_to_local(incident, api_server, settings):
    settings.ANTHROPIC_BASE_URL = api_server.url
    output = get_provider("claude").analyze(incident, AnalysisContext())

    assert output.fallback_used is True
    assert output.provider_used == "local"
    assert output.error["code"] == "missing_api_key"
    assert "ANTHROPIC_API_KEY" in output.fallback_reason
    assert api_server.requests == []


def test_the_messages_api_reply_becomes_recommendations(incident, api_server):
    api_server.replies.append(Reply(body=anthropic_message(json.dumps(REPLY))))
    provider = get_provider("claude", api_key=API_KEY, base_url=api_server.url, max_retries=0)

    analysis = provider.analyze(incident, AnalysisContext())

    assert analysis.fallback_used is False
    assert [r.title for r in analysis] == ["Clean /var/log"]
    assert analysis.tokens_used == 360
    (request,) = api_server.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "claude-sonnet-5"
    assert "JSON" in request.body["system"]
    assert [m["role"] for m in request.body["messages"]] == ["user"]
    assert "HighMemoryUsage on web-1" in request.body["messages"][0]["content"]
    assert API_KEY not in json.dumps(analysis.to_dict())


def test_an_overloaded_api_falls_back(incident, api_server):
    api_server.replies.append(Reply(529, {"type": "error", "error": {"type": "overloaded"}}))
    provider = get_provider("claude", api_key=API_KEY, base_url=api_server.url, max_retries=0)

    analysis = provider.analyze(incident, AnalysisContext())

    assert analysis.fallback_used is True
    assert analysis.error["retryable"] is True


def _message(**fields: object) -> dict:
    return {**anthropic_message(json.dumps(REPLY)), **fields}


@pytest.mark.parametrize(
    "body",
    [
        _message(content=None),
        _message(content="not a list of blocks"),
        _message(content=[{"type": "text", "text": None}]),
        _message(content=[{"type": "text", "text": 42}]),
        _message(content=[{"type": "text"}]),
        _message(content=[{"type": "text", "text": "{not json"}]),
        _message(content=[{"type": "text", "text": '{"recommendations": "none"}'}]),
        _message(usage="lots", content=[{"type": "text", "text": "[]"}]),
        {},
        [],
        "not json at all",
    ],
    ids=[
        "content-null",
        "content-string",
        "text-null",
        "text-number",
        "text-missing",
        "text-not-json",
        "schema",
        "usage-string",
        "empty-object",
        "array",
        "not-json",
    ],
)
def test_a_malformed_reply_falls_back_to_local_marked(incident, api_server, body):
    api_server.replies.append(Reply(body=body))
    provider = get_provider("claude", api_key=API_KEY, base_url=api_server.url, max_retries=0)

    analysis = provider.analyze(incident, AnalysisContext())

    assert analysis.fallback_used is True
    assert analysis.provider_used == "local"
    assert analysis.error["code"] == "invalid_reply"
    assert analysis.error["retryable"] is False
    assert analysis.to_dict()["fallback_reason"]
