"""Issue 8, finding 1: a server-held provider key goes only to the endpoint configured in
settings; a definition naming its own ``base_url`` brings its own key, and that URL passes
the outbound guard. Every attack aims at a server on 127.0.0.1 that records what it gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.intelligence.context import AnalysisContext
from apps.intelligence.providers import get_provider
from apps.intelligence.tests.servers import (
    Reply,
    ScriptedServer,
    anthropic_message,
    chat_completion,
)
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.nodes import NodeContext, get_node_handler
from apps.orchestration.validation import validate_config
from tests.support.network import PUBLIC_IPV4, Firewall, rebinding

SERVER_KEYS = {"openai": "sk-server-OPENAI-0123456789", "claude": "sk-ant-server-0123456789"}
OWN_KEY = "sk-definition-own-key-0123456789"
REPLY = json.dumps({"summary": "ok", "recommendations": []})
BODIES = {"openai": chat_completion(REPLY), "claude": anthropic_message(REPLY)}
BASE_SETTINGS = {"openai": "OPENAI_BASE_URL", "claude": "ANTHROPIC_BASE_URL"}


def base_url(provider: str, server: ScriptedServer) -> str:
    return f"{server.url}/v1" if provider == "openai" else server.url


@pytest.fixture(autouse=True)
def server_keys(settings, firewall: Firewall) -> None:
    settings.OPENAI_API_KEY = SERVER_KEYS["openai"]
    settings.ANTHROPIC_API_KEY = SERVER_KEYS["claude"]


def exfiltrating_definition(provider: str, url: str) -> dict[str, Any]:
    """The issue's reproduction: the server's key, pointed at the author's URL."""
    return {
        "version": "1.0",
        "nodes": [
            {"id": "ingest", "type": "ingest", "next": "a"},
            {
                "id": "a",
                "type": "intelligence",
                "config": {
                    "provider": provider,
                    "provider_config": {"base_url": url, "max_retries": 0},
                },
            },
        ],
    }


@pytest.mark.parametrize("provider", ["openai", "claude"])
def test_a_definition_pointing_the_server_key_elsewhere_is_refused_when_saved(
    provider: str, api_server: ScriptedServer
) -> None:
    errors = validate_config(exfiltrating_definition(provider, base_url(provider, api_server)))

    assert any(
        e.startswith("Node a: provider_config.base_url names its own server, so ")
        and "provider_config.api_key is required" in e
        for e in errors
    ), errors


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["openai", "claude"])
def test_a_stored_definition_pointing_the_key_elsewhere_never_sends_it(
    provider: str, api_server: ScriptedServer, settings, client
) -> None:
    # Stored before the rule existed (the model itself does not validate): a webhook
    # starting it is refused, and running the node alone refuses too.
    settings.ALERTS_WEBHOOK_TOKEN = "t"
    config = exfiltrating_definition(provider, base_url(provider, api_server))
    PipelineDefinition.objects.create(name="exfil", config=config)

    response = client.post(
        "/orchestration/pipeline/?definition=exfil",
        data={"title": "x"},
        content_type="application/json",
        headers={"Authorization": "Bearer t"},
    )
    node = get_node_handler("intelligence").execute(
        NodeContext(trace_id="t", run_id="r", node_id="a"), config["nodes"][1]["config"]
    )

    assert response.status_code == 422
    assert "provider_config.api_key is required" in json.dumps(response.json()["errors"])
    assert "provider_config.api_key is required" in node.errors[0]
    assert api_server.requests == []


@pytest.mark.parametrize("provider", ["openai", "claude"])
def test_the_server_key_goes_to_the_endpoint_in_settings(
    provider: str, api_server: ScriptedServer, settings, incident
) -> None:
    # Trusted although loopback is not allow-listed: the operator configured it.
    settings.NOTIFY_ALLOWED_HOSTS = []
    setattr(settings, BASE_SETTINGS[provider], base_url(provider, api_server))
    api_server.replies.append(Reply(body=BODIES[provider]))

    analysis = get_provider(provider, max_retries=0).analyze(incident, AnalysisContext())

    assert analysis.fallback_used is False
    headers = api_server.requests[0].headers
    assert SERVER_KEYS[provider] in (
        headers.get("authorization", "") + headers.get("x-api-key", "")
    )


@pytest.mark.parametrize("provider", ["openai", "claude", "openai_compatible"])
def test_a_definitions_own_url_passes_the_outbound_guard(
    provider: str, api_server: ScriptedServer, settings, incident
) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    provider_config = {"base_url": base_url(provider, api_server), "api_key": OWN_KEY}

    analysis = get_provider(provider, max_retries=0, **provider_config).analyze(
        incident, AnalysisContext()
    )

    assert analysis.fallback_used is True
    assert analysis.error["code"] == "destination_refused"
    assert analysis.error["retryable"] is False
    assert "127.0.0.1 is a loopback address" in analysis.fallback_reason
    assert analysis.exchange["sent"] is False
    assert api_server.requests == []


@pytest.mark.parametrize("provider", ["openai", "claude"])
def test_a_rebinding_name_in_a_definition_is_refused_at_connect_time(
    provider: str,
    api_server: ScriptedServer,
    settings,
    incident,
    resolver,
    firewall,
) -> None:
    # The early check sees the public answer; the connection resolves again, gets
    # 127.0.0.1, and the guard on the socket refuses it.
    settings.NOTIFY_ALLOWED_HOSTS = []
    resolver(rebinding(PUBLIC_IPV4, "127.0.0.1"))
    port = api_server.url.rsplit(":", 1)[1]
    url = f"http://rebind.invalid:{port}" + ("/v1" if provider == "openai" else "")

    analysis = get_provider(provider, base_url=url, api_key=OWN_KEY, max_retries=0).analyze(
        incident, AnalysisContext()
    )

    assert analysis.fallback_used is True
    assert analysis.error["code"] == "destination_refused"
    assert api_server.requests == []
    assert firewall.attempted == []
