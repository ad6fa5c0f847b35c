"""Webhook authentication: a shared or per-source token, or an HMAC signature (``signatures``).

Secure by default: with neither ``ALERTS_WEBHOOK_TOKEN`` nor ``ALERTS_WEBHOOK_HMAC_SECRET``
configured every webhook is refused, so a fresh install is never an open relay into pipelines.
A token is taken from ``Authorization: Bearer`` or ``X-Webhook-Token``; from ``?token=`` only
with ``ALERTS_WEBHOOK_QUERY_TOKEN`` on (query strings end up in access logs, and are redacted
there: ``project.redaction``).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from apps.alerts.drivers import DRIVER_REGISTRY
from apps.alerts.webhooks.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Signature,
    SignatureError,
    verify,
)

QUERY_TOKEN_PARAM = "token"


class AuthenticationError(Exception):
    """The request is not authenticated; ``message`` says why (answered 401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Credential:
    """How a request authenticated; ``signature`` is set for signed requests (the replay
    protection keys on it)."""

    scheme: str  # "token" or "signature"
    signature: Signature | None = None


def expected_token(source: str | None) -> str:
    """The token for ``source``'s path: ``ALERTS_WEBHOOK_TOKEN_<SOURCE>`` if set (it replaces
    the shared one there, so it can be revoked alone), else ``ALERTS_WEBHOOK_TOKEN``."""
    # Only known sources: a path segment is attacker-chosen, and the environment refuses
    # names with NUL bytes (a 500) and should not be probed for arbitrary variables.
    if source and source in DRIVER_REGISTRY:
        # Read at call time: operators rotate per-source tokens through the environment.
        own = os.environ.get(f"ALERTS_WEBHOOK_TOKEN_{source.upper()}", "").strip()
        if own:
            return own
    return settings.ALERTS_WEBHOOK_TOKEN


def presented_token(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = (request.headers.get("X-Webhook-Token") or "").strip()
    if header or not settings.ALERTS_WEBHOOK_QUERY_TOKEN:
        return header
    return (request.GET.get(QUERY_TOKEN_PARAM) or "").strip()


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authenticate(request: HttpRequest, body: bytes, source: str | None) -> Credential:
    """How the request is authenticated; ``AuthenticationError`` when it is not."""
    token = expected_token(source)
    secret = settings.ALERTS_WEBHOOK_HMAC_SECRET
    if not token and not secret:
        raise AuthenticationError(
            "webhook authentication is not configured: set ALERTS_WEBHOOK_TOKEN "
            "(or ALERTS_WEBHOOK_HMAC_SECRET) on the server"
        )
    given = presented_token(request)
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not given and not signature:
        raise AuthenticationError(_missing_message(request))
    if given and token and _equal(given, token):
        return Credential("token")
    if signature and secret:
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        try:
            return Credential("signature", verify(signature, timestamp, body, source))
        except SignatureError as exc:
            raise AuthenticationError(exc.message) from None
    raise AuthenticationError("invalid token" if given else "invalid signature")


def _missing_message(request: HttpRequest) -> str:
    if QUERY_TOKEN_PARAM in request.GET and not settings.ALERTS_WEBHOOK_QUERY_TOKEN:
        return (
            "a token in the query string is not accepted (it would be written to access "
            "logs): send 'Authorization: Bearer <token>' or 'X-Webhook-Token', or set "
            "ALERTS_WEBHOOK_QUERY_TOKEN=1 for a sender that cannot set headers"
        )
    return (
        "missing credentials: send 'Authorization: Bearer <token>', 'X-Webhook-Token', or "
        f"'{TIMESTAMP_HEADER}' with '{SIGNATURE_HEADER}: v1=<hex HMAC of timestamp.body>'"
    )
