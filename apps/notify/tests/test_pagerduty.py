"""PagerDuty Events API v2 driver against an events server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from apps.notify.drivers import get_driver
from apps.notify.drivers.pagerduty import DEFAULT_EVENTS_URL
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.notify.tests.helpers import sample_message

ACCEPTED = Reply(
    status=202,
    body=json.dumps({"status": "success", "message": "Event processed", "dedup_key": "incident-7"}),
)


def config(server: RecordingServer) -> dict[str, str]:
    return {"routing_key": "R0123456789", "events_url": server.url + "/v2/enqueue"}


def test_triggers_an_event_deduplicated_per_incident(http_server: RecordingServer) -> None:
    http_server.reply(ACCEPTED)
    result = get_driver("pagerduty").send(sample_message(), config(http_server))

    assert result.external_id == "incident-7"
    received = http_server.requests[0]
    assert received.path == "/v2/enqueue"
    body = received.json()
    details = body["payload"].pop("custom_details")
    assert body == {
        "routing_key": "R0123456789",
        "event_action": "trigger",
        "dedup_key": "incident-7",
        "payload": {
            "summary": "Disk almost full on db-1",
            "source": "alertmanager",
            "severity": "critical",
            "component": "production",
        },
    }
    assert details["run_id"] == "run-1"
    assert details["incident_id"] == 7
    assert "Root volume at 93%" in details["details"]


def test_a_resolved_incident_resolves_the_event(http_server: RecordingServer) -> None:
    http_server.reply(ACCEPTED)
    message = sample_message()
    message.context["incident"] = {"id": 7, "title": "Disk full", "status": "resolved"}
    get_driver("pagerduty").send(message, config(http_server))
    assert http_server.requests[0].json()["event_action"] == "resolve"


def test_long_summaries_are_cut_to_the_api_limit(http_server: RecordingServer) -> None:
    http_server.reply(ACCEPTED)
    get_driver("pagerduty").send(sample_message(title="x" * 5000), config(http_server))
    assert len(http_server.requests[0].json()["payload"]["summary"]) == 1024


@pytest.mark.parametrize("status", [429, 500])
def test_rate_limits_and_server_errors_are_retryable(
    http_server: RecordingServer, status: int
) -> None:
    http_server.reply(Reply(status=status, body='{"status":"throttle"}'))
    with pytest.raises(NotifyError) as exc:
        get_driver("pagerduty").send(sample_message(), config(http_server))
    assert exc.value.retryable


def test_an_invalid_event_is_permanent(http_server: RecordingServer) -> None:
    http_server.reply(Reply(status=400, body='{"status":"invalid event"}'))
    with pytest.raises(NotifyError) as exc:
        get_driver("pagerduty").send(sample_message(), config(http_server))
    assert not exc.value.retryable


def test_a_timeout_is_retryable(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 0.2
    http_server.reply(Reply(delay=1.0))
    with pytest.raises(NotifyError) as exc:
        get_driver("pagerduty").send(sample_message(), config(http_server))
    assert exc.value.retryable


def test_events_url_defaults_to_pagerduty() -> None:
    parsed = get_driver("pagerduty").parse_config({"routing_key": "R0123"})
    assert parsed.events_url == DEFAULT_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({}, "routing_key is required"),
        ({"routing_key": "R0 123"}, "whitespace"),
        ({"routing_key": "R0123", "events_url": "gopher://x"}, "http:// or https://"),
    ],
)
def test_bad_config_is_refused(bad: dict[str, str], problem: str) -> None:
    with pytest.raises(NotifyConfigError) as exc:
        get_driver("pagerduty").send(sample_message(), bad)
    assert any(problem in e for e in exc.value.errors)
