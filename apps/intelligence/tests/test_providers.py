"""The registry, the openai_compatible provider, prompts and redaction."""

from __future__ import annotations

import json

import pytest

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderConfigError, UnknownProviderError
from apps.intelligence.prompts import parse_reply
from apps.intelligence.providers import PROVIDERS, get_provider
from apps.intelligence.providers.openai_compatible import PLACEHOLDER_KEY
from apps.intelligence.recommendations import Recommendation
from apps.intelligence.redaction import REDACTED, redact, redact_text
from apps.intelligence.tests.servers import Reply, chat_completion


def test_providers_keep_the_wizard_order():
    assert list(PROVIDERS) == ["local", "openai", "claude", "openai_compatible"]


def test_an_unknown_provider_names_the_known_ones():
    with pytest.raises(KeyError) as caught:
        get_provider("gemini")

    assert isinstance(caught.value, UnknownProviderError)
    assert str(caught.value) == (
        "Unknown provider: gemini. Available: ['local', 'openai', 'claude', 'openai_compatible']"
    )


def test_a_bad_option_is_refused_when_the_provider_is_built():
    with pytest.raises(ProviderConfigError, match="max_tokens of provider openai must be int"):
        get_provider("openai", max_tokens="many")
    with pytest.raises(ProviderConfigError, match="fallback of provider openai must be bool"):
        get_provider("openai", fallback=1)


def test_a_recommendation_refuses_an_unknown_priority():
    with pytest.raises(ValueError, match="Unknown priority: urgent"):
        Recommendation(type="x", priority="urgent", title="t", description="d")


def test_openai_compatible_uses_the_base_url_setting_without_a_key(api_server, settings, incident):
    settings.OPENAI_BASE_URL = f"{api_server.url}/v1"
    settings.OPENAI_MODEL = "llama3.1"
    api_server.replies.append(Reply(body=chat_completion('{"recommendations": []}')))

    analysis = get_provider("openai_compatible", max_retries=0).analyze(incident, AnalysisContext())

    assert analysis.fallback_used is False
    request = api_server.requests[0]
    assert request.body["model"] == "llama3.1"
    assert request.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_openai_compatible_never_sends_the_openai_key_to_a_configured_server(
    api_server, settings, incident
):
    settings.OPENAI_API_KEY = "sk-real-openai-key-0123456789"
    api_server.replies.append(Reply(body=chat_completion('{"recommendations": []}')))

    get_provider(
        "openai_compatible", base_url=f"{api_server.url}/v1", model="qwen", max_retries=0
    ).analyze(incident, AnalysisContext())

    assert "sk-real" not in api_server.requests[0].headers["authorization"]


def test_openai_compatible_without_a_base_url_falls_back(incident):
    analysis = get_provider("openai_compatible").analyze(incident, AnalysisContext())

    assert analysis.fallback_used is True
    assert "OPENAI_BASE_URL" in analysis.fallback_reason
    assert analysis.exchange["sent"] is False


def test_an_unreachable_server_falls_back_as_retryable(incident):
    provider = get_provider(
        "openai", api_key="sk-x-0123456789", base_url="http://127.0.0.1:9/v1", max_retries=0
    )

    analysis = provider.analyze(incident, AnalysisContext())

    assert analysis.fallback_used is True
    assert analysis.error["retryable"] is True


def test_parse_reply_accepts_the_schema():
    summary, recs = parse_reply(
        json.dumps(
            {
                "summary": "s",
                "recommendations": [
                    {"type": "cpu", "priority": "low", "title": "t", "description": "d"}
                ],
            }
        )
    )
    assert summary == "s"
    assert recs[0].to_dict()["details"] == {}


@pytest.mark.parametrize(
    "reply",
    ["", "[]", '{"summary": "no list"}', '{"recommendations": [{"title": "t"}]}', "{nope"],
)
def test_parse_reply_refuses_anything_else(reply):
    from apps.intelligence.errors import ProviderResponseError

    with pytest.raises(ProviderResponseError):
        parse_reply(reply)


def test_redaction_of_keys_tokens_and_secret_fields():
    text = "key sk-proj-abcdefghijklmnop, token=abcd1234efgh and Bearer abcdefghijklmnopqr"
    redacted = redact_text(text)
    assert "abcdefghijklmnop" not in redacted
    assert "abcd1234efgh" not in redacted
    assert "abcdefghijklmnopqr" not in redacted

    data = redact({"labels": {"password": "x1", "tokens_used": 5, "team": "ops"}})
    assert data == {"labels": {"password": REDACTED, "tokens_used": 5, "team": "ops"}}
    assert redact_text("my literal secret value", ["literal secret"]) == f"my {REDACTED} value"
