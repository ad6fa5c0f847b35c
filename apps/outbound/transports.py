"""The guard plugged into the HTTP client libraries the product uses.

- requests/urllib3 (notifications): connection classes whose ``_new_conn`` opens the socket
  through ``open_socket``; urllib3 then layers TLS on it with the URL's host name.
- httpx (the openai and anthropic SDKs): a network backend whose ``connect_tcp`` does the same;
  httpcore then starts TLS with the request's host name.

Proxies from the environment are ignored on both: a proxy would make the guard see the
proxy's address instead of the destination's.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from apps.outbound.addresses import (
    OutboundBlockedError,
    allow_list,
    ensure_allowed,
    parse_address,
    resolve_checked,
)
from apps.outbound.connect import open_socket


class DestinationRefusedError(OutboundBlockedError, requests.exceptions.InvalidURL):
    """The guard's refusal as requests reports errors, so callers that classify
    ``requests.RequestException`` see it as a request that cannot succeed."""


def _urllib3_socket(conn: HTTPConnection) -> socket.socket:
    """``HTTPConnection._new_conn`` through the guard, with urllib3's own error mapping."""
    try:
        sock = open_socket(
            conn._dns_host,  # the name urllib3 would have resolved itself
            conn.port,
            conn.timeout,
            source_address=conn.source_address,
            socket_options=conn.socket_options,
        )
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(
            conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        ) from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    sys.audit("http.client.connect", conn, conn.host, conn.port)
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _urllib3_socket(self)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _urllib3_socket(self)


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every connection is opened through the guard."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise DestinationRefusedError("outbound requests do not go through proxies")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except DestinationRefusedError:
            raise
        except OutboundBlockedError as exc:
            raise DestinationRefusedError(exc.message) from exc


def guarded_session() -> requests.Session:
    """A requests session whose connections all pass the guard (no proxies, no .netrc)."""
    session = requests.Session()
    # Proxies and .netrc credentials from the environment would bypass the guard's view of
    # the destination and could leak credentials to a channel's host.
    session.trust_env = False
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class GuardedNetworkBackend(httpcore2.SyncBackend):
    """httpcore's socket backend with the guard in ``connect_tcp``.

    The name is resolved and checked here; httpcore's own ``connect_tcp`` is then given a
    checked numeric address, which it connects to without resolving anything.
    """

    def __init__(self, extra_allowed: Iterable[str] = ()) -> None:
        self.extra_allowed = tuple(extra_allowed)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        allowed = allow_list(self.extra_allowed)
        try:
            infos = resolve_checked(host, port, allowed)
        except socket.gaierror as exc:  # as httpcore's own backend reports it
            raise httpcore2.ConnectError(str(exc)) from exc
        last_error: Exception | None = None
        for info in infos:
            try:
                stream = super().connect_tcp(
                    str(info[4][0]), port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last_error = exc
                continue
            sock = stream.get_extra_info("socket")
            try:
                ensure_allowed(host, parse_address(str(sock.getpeername()[0])), allowed)
            except OutboundBlockedError:
                stream.close()
                raise
            return stream
        raise last_error or httpcore2.ConnectError(f"cannot connect to {host!r}")


class GuardedHTTPTransport(httpx2.HTTPTransport):
    """httpx's transport with the guarded backend under its connection pool."""

    def __init__(self, *, extra_allowed: Iterable[str] = (), **kwargs: Any) -> None:
        # trust_env stays on here: it only lets SSL_CERT_FILE/SSL_CERT_DIR name a CA bundle
        # (an internal CA for a self-hosted model). Proxies are the client's, turned off there.
        super().__init__(**kwargs)
        # httpx does not take a network backend; its pool (httpcore) does. The pool built
        # above has not opened a connection yet, so swapping its backend here is safe.
        self._pool._network_backend = GuardedNetworkBackend(extra_allowed)


def guarded_httpx_client(*, timeout: float, extra_allowed: Iterable[str] = ()) -> httpx2.Client:
    """An httpx client for the AI SDKs (``http_client=``) whose connections pass the guard.

    ``extra_allowed`` names hosts trusted for this client only: the endpoint the operator set
    in the environment (OPENAI_BASE_URL, ...), never one a definition names.
    """
    return httpx2.Client(
        transport=GuardedHTTPTransport(extra_allowed=extra_allowed),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
    )
