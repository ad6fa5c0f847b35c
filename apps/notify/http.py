"""The one outbound HTTP helper every notify driver uses.

It owns the policy drivers must not re-invent: a timeout on every request
(``NOTIFY_HTTP_TIMEOUT``), the outbound guard (``apps.outbound``: strict URLs, and the peer
address checked on the socket actually opened), no redirects, and the classification of
failures: timeouts, connection errors, 429 and 5xx are retryable; other 4xx and 3xx, and a
destination the guard refuses, are permanent.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import NameResolutionError, NewConnectionError

from apps.notify.errors import NotifyError
from apps.outbound import url_problems
from apps.outbound.transports import guarded_session

logger = logging.getLogger(__name__)

BODY_EXCERPT = 500
ALLOWED_METHODS = ("POST", "PUT", "PATCH")


@dataclass
class HttpResponse:
    """What a driver needs from a successful response."""

    status_code: int
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def summary(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "body": self.text[:BODY_EXCERPT]}


# One session per thread, kept between messages. Building a session and its connection pools
# for every message cost more CPU than the request itself on a fast receiver, and a kept
# connection spares a receiver that keeps connections alive (Slack, PagerDuty, most HTTP/1.1
# servers) the TCP and TLS handshakes of every message after the first. Every connection was
# checked by the guard when it was opened, and is reused only while the thread keeps sending:
# one idle longer than KEEP_IDLE_SECONDS is closed first (servers close idle connections after
# 2 s (gunicorn) to 75 s (nginx), and a request that meets a connection the server is closing
# has an unknown outcome). Sessions are not shared between threads (requests does not promise
# that is safe) nor kept across a fork or a change of the allow-list (a connection opened
# under a wider list must not outlive it).
KEEP_IDLE_SECONDS = 1.5
_kept = threading.local()


def _session() -> requests.Session:
    key = (
        os.getpid(),
        tuple(getattr(settings, "OUTBOUND_ALLOWED_HOSTS", None) or ()),
        tuple(getattr(settings, "NOTIFY_ALLOWED_HOSTS", None) or ()),
    )
    now = time.monotonic()
    held = getattr(_kept, "held", None)
    if held is not None and held[0] == key:
        session = held[1]
        if now - held[2] > KEEP_IDLE_SECONDS:
            session.close()  # its connections; the session opens new ones through the guard
    else:
        if held is not None and held[0][0] == key[0]:
            held[1].close()  # this process's, kept under another allow-list
        session = guarded_session()
    _kept.held = (key, session, now)
    return session


def drop_kept_session() -> None:
    """Close this thread's kept session and its connections (the next message opens anew)."""
    held = getattr(_kept, "held", None)
    _kept.held = None
    if held is not None and held[0][0] == os.getpid():
        held[1].close()


def validate_url(url: str) -> list[str]:
    """Problems with ``url`` as a notification target (its form only: the address guard
    runs when the connection is opened, on the address actually used)."""
    return url_problems(url)


def _without_secrets(text: str, url: str) -> str:
    """``text`` with the URL's path and query masked: webhook URLs carry their secret there,
    and requests puts the URL into its exception messages."""
    parts = urlsplit(url)
    for secret in (parts.query, parts.path):
        if secret and secret != "/":
            text = text.replace(secret, "/****" if secret.startswith("/") else "****")
    return text


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established (refused, unreachable, DNS), so the
    receiver cannot have the request; a connection dropped mid-exchange is ambiguous."""
    cause: BaseException | None = exc
    for _ in range(10):  # a chain of wrapped causes; never follow a cycle for ever
        if cause is None:
            break
        if isinstance(cause, (NewConnectionError, NameResolutionError, ConnectionRefusedError)):
            return True
        cause = cause.__cause__ or cause.__context__ or _reason(cause)
    return False


def _reason(exc: BaseException) -> BaseException | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], BaseException) else None


def send_json(
    url: str,
    body: Any,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """Send ``body`` as JSON and return the response when its status is 2xx.

    Raises ``NotifyError`` (``retryable`` set as described in the module docstring) for
    anything else, including a refused address, before a byte is sent.
    """
    method = method.upper()
    if method not in ALLOWED_METHODS:
        raise NotifyError(f"HTTP method {method} is not allowed", retryable=False)
    problems = validate_url(url)
    if problems:
        raise NotifyError(f"URL {problems[0]}", retryable=False)
    host = urlsplit(url).hostname or ""

    timeout = float(settings.NOTIFY_HTTP_TIMEOUT)
    data = json.dumps(body, default=str).encode()
    all_headers = {"Content-Type": "application/json", "User-Agent": "alertpipes-notify/1"}
    all_headers.update(headers or {})
    # Every connection of this session passes the guard; a refusal is a RequestException
    # that no retry can fix (classified below with the other permanent failures).
    session = _session()
    try:
        response = session.request(
            method, url, data=data, headers=all_headers, timeout=timeout, allow_redirects=False
        )
    except requests.ConnectTimeout as exc:
        # Nothing was sent: safe to try again.
        raise NotifyError(f"{host}: could not connect within {timeout:g}s", retryable=True) from exc
    except requests.Timeout as exc:
        # The request went out and the answer did not come: the receiver may have it.
        raise NotifyError(
            f"{host}: no answer within {timeout:g}s (the request was sent; outcome unknown)",
            ambiguous=True,
        ) from exc
    except requests.ConnectionError as exc:
        reason = _without_secrets(str(exc), url)
        if _never_connected(exc):
            raise NotifyError(f"{host}: connection failed: {reason}", retryable=True) from exc
        raise NotifyError(
            f"{host}: connection lost after sending: {reason} (outcome unknown)", ambiguous=True
        ) from exc
    except requests.RequestException as exc:
        reason = _without_secrets(str(exc), url)
        raise NotifyError(f"{host}: request failed: {reason}", retryable=False) from exc

    status = response.status_code
    text = response.text[:BODY_EXCERPT]
    if 200 <= status < 300:
        logger.debug("notify %s %s -> %s", method, host, status)
        return HttpResponse(status_code=status, text=response.text)
    if 300 <= status < 400:
        raise NotifyError(
            f"{host}: HTTP {status} redirect to {response.headers.get('Location', '?')!r} "
            "not followed",
            retryable=False,
        )
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        hint = f" (Retry-After: {retry_after})" if retry_after else ""
        raise NotifyError(f"{host}: HTTP {status}{hint}: {text}", retryable=True)
    raise NotifyError(f"{host}: HTTP {status}: {text}", retryable=False)
