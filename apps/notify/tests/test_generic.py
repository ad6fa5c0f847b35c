"""Generic JSON webhook driver against a server on 127.0.0.1."""

from __future__ import annotations

import pytest

from apps.notify.drivers import get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.notify.tests.helpers import sample_message


def test_posts_message_and_context_with_configured_headers(http_server: RecordingServer) -> None:
    config = {
        "endpoint_url": http_server.url + "/hook",
        "headers": '{"Authorization": "Bearer t0ken", "X-Team": "ops"}',
    }
    get_driver("generic").send(sample_message(), config)

    received = http_server.requests[0]
    assert received.method == "POST"
    assert received.path == "/hook"
    assert received.headers["Authorization"] == "Bearer t0ken"
    assert received.headers["X-Team"] == "ops"
    assert received.headers["Content-Type"] == "application/json"
    body = received.json()
    text = body.pop("text")
    assert text.startswith("[CRITICAL] Disk almost full on db-1\n\nRoot volume at 93%\n")
    assert body == {
        "title": "Disk almost full on db-1",
        "message": "Root volume at 93%",
        "severity": "critical",
        "channel": "",
        "tags": {"run_id": "run-1", "trace_id": "trace-1", "pipeline_node": "notify"},
        "dedup_key": "incident-7",
        "context": {
            "run_id": "run-1",
            "trace_id": "trace-1",
            "source": "alertmanager",
            "environment": "production",
            "incident": {"id": 7, "title": "Disk full", "status": "open", "severity": "critical"},
            "alerts": [{"name": "DiskFull", "severity": "critical", "status": "firing"}],
            "checks": [{"checker": "disk", "status": "critical", "message": "93% used"}],
            "recommendations": [{"title": "Clean /var/log", "priority": "high"}],
        },
    }


def test_uses_the_configured_method_and_accepts_a_headers_dict(
    http_server: RecordingServer,
) -> None:
    config = {"endpoint_url": http_server.url, "method": "put", "headers": {"X-A": "1"}}
    get_driver("generic").send(sample_message(), config)
    assert http_server.requests[0].method == "PUT"
    assert http_server.requests[0].headers["X-A"] == "1"


def test_accepts_the_seeds_endpoint_alias(http_server: RecordingServer) -> None:
    get_driver("generic").send(sample_message(), {"endpoint": http_server.url})
    assert len(http_server.requests) == 1


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (422, False)])
def test_failures_say_whether_a_retry_can_help(
    http_server: RecordingServer, status: int, retryable: bool
) -> None:
    http_server.reply(Reply(status=status))
    with pytest.raises(NotifyError) as exc:
        get_driver("generic").send(sample_message(), {"endpoint_url": http_server.url})
    assert exc.value.retryable is retryable


def test_a_timeout_is_retryable(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 0.2
    http_server.reply(Reply(delay=1.0))
    with pytest.raises(NotifyError) as exc:
        get_driver("generic").send(sample_message(), {"endpoint_url": http_server.url})
    assert exc.value.retryable


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, "endpoint_url is required"),
        ({"endpoint_url": "https://x.example", "headers": "{not json"}, "JSON object"),
        ({"endpoint_url": "https://x.example", "headers": "[1]"}, "object of header"),
        ({"endpoint_url": "https://x.example", "headers": {"X": "a\r\nB: c"}}, "valid header"),
        ({"endpoint_url": "https://x.example", "headers": {"X": 1}}, "must be a string"),
        ({"endpoint_url": "https://x.example", "method": "DELETE"}, "method must be one of"),
    ],
)
def test_bad_config_is_refused(config: dict[str, object], problem: str) -> None:
    with pytest.raises(NotifyConfigError) as exc:
        get_driver("generic").send(sample_message(), config)
    assert any(problem in e for e in exc.value.errors), exc.value.errors
