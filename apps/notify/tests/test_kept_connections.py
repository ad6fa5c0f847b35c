"""Connections kept between messages (apps/notify/http.py): reused by one thread while it keeps
sending, never past the guard's allow-list, a fork or an idle receiver's close."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from apps.notify import http
from apps.notify.errors import NotifyError
from apps.notify.http import send_json
from apps.notify.tests.conftest import RecordingServer


def keepalive_server(idle_close: float | None = None) -> RecordingServer:
    """A real HTTP/1.1 server on 127.0.0.1 that keeps connections open and records them."""
    return RecordingServer(protocol="HTTP/1.1", idle_close=idle_close).start()


@pytest.fixture
def keepalive() -> Iterator[RecordingServer]:
    server = keepalive_server()
    yield server
    http.drop_kept_session()
    server.close()


def test_one_thread_sends_its_messages_over_one_connection(keepalive: RecordingServer) -> None:
    for n in range(5):
        assert send_json(keepalive.url, {"n": n}).status_code == 200

    assert len(keepalive.requests) == 5
    assert len(keepalive.connections) == 1


def test_threads_do_not_share_a_connection(keepalive: RecordingServer) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def send_twice() -> None:
        try:
            barrier.wait(5)
            send_json(keepalive.url, {})
            send_json(keepalive.url, {})
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            http.drop_kept_session()

    threads = [threading.Thread(target=send_twice) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert not errors
    assert len(keepalive.requests) == 4
    assert len(keepalive.connections) == 2  # one per thread, each used twice


def test_a_kept_connection_does_not_outlive_the_allow_list_it_was_opened_under(
    keepalive: RecordingServer, settings
) -> None:
    send_json(keepalive.url, {})  # 127.0.0.1 is allowed in tests: the connection is kept
    settings.NOTIFY_ALLOWED_HOSTS = []
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(NotifyError) as exc:
        send_json(keepalive.url, {})

    assert exc.value.retryable is False
    assert len(keepalive.requests) == 1  # refused by the guard, not sent on the kept connection


def test_a_connection_idle_past_the_limit_is_not_reused(
    keepalive: RecordingServer, monkeypatch
) -> None:
    monkeypatch.setattr(http, "KEEP_IDLE_SECONDS", 0.05)
    send_json(keepalive.url, {})
    time.sleep(0.2)

    send_json(keepalive.url, {})

    assert len(keepalive.requests) == 2
    assert len(keepalive.connections) == 2


def test_a_connection_the_receiver_closed_is_replaced_without_an_error() -> None:
    server = keepalive_server(idle_close=0.1)
    try:
        send_json(server.url, {})
        time.sleep(0.5)  # the server has closed it; the kept session still holds it

        assert send_json(server.url, {}).status_code == 200
        assert len(server.requests) == 2
        assert len(server.connections) == 2
    finally:
        http.drop_kept_session()
        server.close()


def test_a_forked_process_does_not_use_its_parents_connections(
    keepalive: RecordingServer, monkeypatch
) -> None:
    send_json(keepalive.url, {})
    # What a pool child forked after the parent sent sees: the same thread-local, another pid.
    monkeypatch.setattr(http.os, "getpid", lambda: -1)

    send_json(keepalive.url, {})

    assert len(keepalive.connections) == 2
