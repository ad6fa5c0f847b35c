"""Slack driver against a webhook server on 127.0.0.1."""

from __future__ import annotations

import pytest

from apps.notify.drivers import get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.notify.tests.helpers import sample_message


def test_posts_the_message_to_the_webhook(http_server: RecordingServer) -> None:
    config = {"webhook_url": http_server.url + "/services/T000/B000/XXX"}
    result = get_driver("slack").send(sample_message(), config)

    assert result.summary == {"status_code": 200, "body": "ok"}
    received = http_server.requests[0]
    assert received.method == "POST"
    assert received.path == "/services/T000/B000/XXX"
    assert received.headers["Content-Type"] == "application/json"
    body = received.json()
    assert set(body) == {"text", "attachments"}
    assert body["text"] == "[CRITICAL] Disk almost full on db-1"
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#d32f2f"
    assert attachment["mrkdwn_in"] == ["text"]
    assert attachment["footer"] == "run run-1"
    text = attachment["text"]
    assert "Root volume at 93%" in text
    assert "*Incident #7*: Disk full (open)" in text
    assert "• [critical] DiskFull (firing)" in text
    assert "• disk: *CRITICAL* 93% used" in text
    assert "• [high] Clean /var/log" in text


def test_escapes_slack_markup_and_never_evaluates_user_text(http_server: RecordingServer) -> None:
    message = sample_message(title="<!channel> {{ 7*7 }}", message="a & b <@U123>")
    get_driver("slack").send(message, {"webhook_url": http_server.url})
    body = http_server.requests[0].json()
    assert body["text"] == "[CRITICAL] &lt;!channel&gt; {{ 7*7 }}"
    assert "a &amp; b &lt;@U123&gt;" in body["attachments"][0]["text"]
    assert "49" not in body["text"]


def test_sets_the_channel_override(http_server: RecordingServer) -> None:
    get_driver("slack").send(sample_message(channel="#ops"), {"webhook_url": http_server.url})
    assert http_server.requests[0].json()["channel"] == "#ops"


def test_a_500_is_retryable(http_server: RecordingServer) -> None:
    http_server.reply(Reply(status=500, body="oops"))
    with pytest.raises(NotifyError) as exc:
        get_driver("slack").send(sample_message(), {"webhook_url": http_server.url})
    assert exc.value.retryable


def test_a_404_is_permanent(http_server: RecordingServer) -> None:
    http_server.reply(Reply(status=404, body="no_service"))
    with pytest.raises(NotifyError) as exc:
        get_driver("slack").send(sample_message(), {"webhook_url": http_server.url})
    assert not exc.value.retryable
    assert "no_service" in exc.value.message


def test_a_timeout_is_retryable(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 0.2
    http_server.reply(Reply(delay=1.0))
    with pytest.raises(NotifyError) as exc:
        get_driver("slack").send(sample_message(), {"webhook_url": http_server.url})
    assert exc.value.retryable


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, "webhook_url is required"),
        ({"webhook_url": "hooks.slack.com/x"}, "http:// or https://"),
        ({"webhook_url": "https://hooks.slack.com/x", "token": "x"}, "unknown keys: token"),
        ("https://hooks.slack.com/x", "config must be an object"),
    ],
)
def test_bad_config_is_refused(config: object, problem: str) -> None:
    errors = get_driver("slack").validate_config(config)
    assert any(problem in e for e in errors), errors
    with pytest.raises(NotifyConfigError):
        get_driver("slack").send(sample_message(), config)  # type: ignore[arg-type]
