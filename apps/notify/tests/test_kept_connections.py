"""Connections kept between messages (apps/notify/http.py): reused by one thread while it keeps
sending, never past the guard's allow-list, a fork or an idle receiver's close."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.notify import http
from apps.notify.errors import NotifyError
from apps.notify.http import send_json


class KeepAliveServer:
    """An HTTP/1.1 server on 127.0.0.1 that keeps connections open and counts them."""

    def __init__(self, idle_close: float | None = None) -> None:
        self.connections: list[tuple[str, int]] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_close  # the server closes a connection idle this long

            def setup(self) -> None:
                super().setup()
                server.connections.append(self.client_address)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def keepalive() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer()
    yield server
    http.drop_kept_session()
    server.close()


def test_one_thread_sends_its_messages_over_one_connection(keepalive: KeepAliveServer) -> None:
    for n in range(5):
        assert send_json(keepalive.url, {"n": n}).status_code == 200

    assert keepalive.requests == 5
    assert len(keepalive.connections) == 1


def test_threads_do_not_share_a_connection(keepalive: KeepAliveServer) -> None:
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
    assert keepalive.requests == 4
    assert len(keepalive.connections) == 2  # one per thread, each used twice


def test_a_kept_connection_does_not_outlive_the_allow_list_it_was_opened_under(
    keepalive: KeepAliveServer, settings
) -> None:
    send_json(keepalive.url, {})  # 127.0.0.1 is allowed in tests: the connection is kept
    settings.NOTIFY_ALLOWED_HOSTS = []
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(NotifyError) as exc:
        send_json(keepalive.url, {})

    assert exc.value.retryable is False
    assert keepalive.requests == 1  # refused by the guard, not sent on the kept connection


def test_a_connection_idle_past_the_limit_is_not_reused(
    keepalive: KeepAliveServer, monkeypatch
) -> None:
    monkeypatch.setattr(http, "KEEP_IDLE_SECONDS", 0.05)
    send_json(keepalive.url, {})
    time.sleep(0.2)

    send_json(keepalive.url, {})

    assert keepalive.requests == 2
    assert len(keepalive.connections) == 2


def test_a_connection_the_receiver_closed_is_replaced_without_an_error() -> None:
    server = KeepAliveServer(idle_close=0.1)
    try:
        send_json(server.url, {})
        time.sleep(0.5)  # the server has closed it; the kept session still holds it

        assert send_json(server.url, {}).status_code == 200
        assert server.requests == 2
        assert len(server.connections) == 2
    finally:
        http.drop_kept_session()
        server.close()


def test_a_forked_process_does_not_use_its_parents_connections(
    keepalive: KeepAliveServer, monkeypatch
) -> None:
    send_json(keepalive.url, {})
    # What a pool child forked after the parent sent sees: the same thread-local, another pid.
    monkeypatch.setattr(http.os, "getpid", lambda: -1)

    send_json(keepalive.url, {})

    assert len(keepalive.connections) == 2
