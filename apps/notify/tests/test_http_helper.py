"""The outbound HTTP helper: timeouts, classification of failures, the address guard."""

from __future__ import annotations

import pytest

from apps.notify.errors import NotifyError
from apps.notify.http import send_json
from apps.notify.tests.conftest import RecordingServer, Reply


def test_posts_json_and_returns_the_response(http_server: RecordingServer) -> None:
    response = send_json(http_server.url + "/hook", {"a": 1})
    assert response.status_code == 200
    received = http_server.requests[0]
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/json"
    assert received.json() == {"a": 1}


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_retryable(
    http_server: RecordingServer, status: int
) -> None:
    http_server.reply(Reply(status=status, body="busy", headers={"Retry-After": "30"}))
    with pytest.raises(NotifyError) as exc:
        send_json(http_server.url, {})
    assert exc.value.retryable is True
    assert str(status) in exc.value.message


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_permanent(http_server: RecordingServer, status: int) -> None:
    http_server.reply(Reply(status=status, body="nope"))
    with pytest.raises(NotifyError) as exc:
        send_json(http_server.url, {})
    assert exc.value.retryable is False


def test_a_slow_server_times_out_as_retryable(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    http_server.reply(Reply(delay=1.5))
    with pytest.raises(NotifyError) as exc:
        send_json(http_server.url, {})
    assert exc.value.retryable is True
    assert "no answer within 0.3s" in exc.value.message


def test_redirects_are_not_followed(http_server: RecordingServer) -> None:
    http_server.reply(Reply(status=302, headers={"Location": "http://169.254.169.254/"}))
    with pytest.raises(NotifyError) as exc:
        send_json(http_server.url, {})
    assert exc.value.retryable is False
    assert "not followed" in exc.value.message
    assert len(http_server.requests) == 1


def test_a_refused_connection_is_retryable_and_hides_the_url_path() -> None:
    from apps.notify.tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETTOKEN"
    with pytest.raises(NotifyError) as exc:
        send_json(url, {})
    assert exc.value.retryable is True
    assert "SECRETTOKEN" not in exc.value.message


def test_loopback_is_refused_when_not_allowed(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    with pytest.raises(NotifyError) as exc:
        send_json(http_server.url, {})
    assert exc.value.retryable is False
    assert "OUTBOUND_ALLOWED_HOSTS" in exc.value.message
    assert http_server.requests == []


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "not a url"]
)
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(NotifyError) as exc:
        send_json(url, {})
    assert exc.value.retryable is False


def test_methods_other_than_post_put_patch_are_refused(http_server: RecordingServer) -> None:
    with pytest.raises(NotifyError):
        send_json(http_server.url, {}, method="DELETE")
    assert http_server.requests == []
