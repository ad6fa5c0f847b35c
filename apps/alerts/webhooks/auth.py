"""Webhook authentication: a shared or per-source token, or an HMAC-SHA256 body signature.

Secure by default: with neither ``ALERTS_WEBHOOK_TOKEN`` nor ``ALERTS_WEBHOOK_HMAC_SECRET``
configured every webhook is refused, so a fresh install is never an open relay into pipelines.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings
from django.http import HttpRequest

SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNATURE_PREFIX = "sha256="


def expected_token(source: str | None) -> str:
    """The token for ``source``'s path: ``ALERTS_WEBHOOK_TOKEN_<SOURCE>`` if set (it replaces
    the shared one there, so it can be revoked alone), else ``ALERTS_WEBHOOK_TOKEN``."""
    if source:
        # Read at call time: operators rotate per-source tokens through the environment.
        own = os.environ.get(f"ALERTS_WEBHOOK_TOKEN_{source.upper()}", "").strip()
        if own:
            return own
    return settings.ALERTS_WEBHOOK_TOKEN


def presented_token(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.headers.get("X-Webhook-Token") or request.GET.get("token") or "").strip()


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authentication_error(request: HttpRequest, body: bytes, source: str | None) -> str | None:
    """Why the request is not authenticated, or None when it is."""
    token = expected_token(source)
    secret = settings.ALERTS_WEBHOOK_HMAC_SECRET
    if not token and not secret:
        return (
            "webhook authentication is not configured: set ALERTS_WEBHOOK_TOKEN "
            "(or ALERTS_WEBHOOK_HMAC_SECRET) on the server"
        )
    given = presented_token(request)
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not given and not signature:
        return (
            "missing credentials: send 'Authorization: Bearer <token>', 'X-Webhook-Token', "
            f"'?token=' or '{SIGNATURE_HEADER}: sha256=<hex HMAC of the body>'"
        )
    if given and token and _equal(given, token):
        return None
    if signature and secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        sent = signature.removeprefix(SIGNATURE_PREFIX).strip().lower()
        if _equal(sent, digest):
            return None
        return "invalid signature"
    return "invalid token" if given else "invalid signature"
