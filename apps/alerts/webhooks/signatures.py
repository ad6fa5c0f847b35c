"""HMAC-SHA256 webhook signatures: timestamped (``v1``), and body-only (``sha256``) by exception.

``v1`` (the default, as Slack and Stripe sign): the sender puts the Unix time in
``X-Webhook-Timestamp`` and ``v1=<hex>`` in ``X-Webhook-Signature``, where ``<hex>`` is the
HMAC-SHA256, keyed with ``ALERTS_WEBHOOK_HMAC_SECRET``, of ``f"{timestamp}.".encode() + body``.
The Stripe form ``X-Webhook-Signature: t=<timestamp>,v1=<hex>`` is accepted too. A timestamp
more than ``ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS`` away from now is refused, so a
captured request cannot be replayed later; within the window the signature itself is the
delivery's identity (see ``idempotency.from_signature``), so a replay starts no second run.

``sha256=<hex>`` (HMAC of the body alone) can be replayed forever by whoever captures it. It
is accepted only on ``/alerts/webhook/<source>/`` for sources named in
``ALERTS_WEBHOOK_BODY_HMAC_SOURCES``, for senders that cannot sign a timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
_HEX_DIGEST_LENGTH = 64


class SignatureError(Exception):
    """The signature is missing its timestamp, malformed, stale, or does not match."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Signature:
    """A verified signature: its scheme and hex digest (what identifies a replay)."""

    scheme: str  # "v1" or "sha256"
    digest: str


def _fields(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name.strip().lower(), value.strip())
    return fields


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _matches(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.lower().encode(), expected.encode())


def body_only_allowed(source: str | None) -> bool:
    names = {s.strip().lower() for s in settings.ALERTS_WEBHOOK_BODY_HMAC_SOURCES}
    return source is not None and source in names


def verify(header: str, timestamp_header: str, body: bytes, source: str | None) -> Signature:
    """The verified signature in ``header``; ``SignatureError`` saying what is wrong."""
    secret = settings.ALERTS_WEBHOOK_HMAC_SECRET
    fields = _fields(header)
    if "v1" in fields:
        return _verify_v1(secret, fields, timestamp_header.strip(), body)
    if "sha256" in fields:
        if not body_only_allowed(source):
            raise SignatureError(
                "body-only signatures (sha256=) can be replayed and are not accepted here: "
                f"sign '<timestamp>.<body>' and send 'v1=<hex>' with {TIMESTAMP_HEADER} "
                "(docs/sources.md)"
            )
        if not _matches(fields["sha256"], _hmac(secret, body)):
            raise SignatureError("invalid signature")
        return Signature("sha256", fields["sha256"].lower())
    raise SignatureError(f"{SIGNATURE_HEADER} must be 'v1=<hex>' (or 't=<timestamp>,v1=<hex>')")


def _verify_v1(secret: str, fields: dict[str, str], timestamp: str, body: bytes) -> Signature:
    timestamp = fields.get("t") or timestamp
    if not timestamp:
        raise SignatureError(f"a v1 signature needs the {TIMESTAMP_HEADER} header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix time in seconds")
    tolerance = settings.ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS
    skew = abs(time.time() - int(timestamp))
    if skew > tolerance:
        raise SignatureError(
            f"signature timestamp is {skew:.0f} s away from the server's clock, outside the "
            f"{tolerance} s tolerance (ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS): "
            "a replayed request, or a clock to fix"
        )
    sent = fields["v1"]
    if len(sent) != _HEX_DIGEST_LENGTH or not _matches(
        sent, _hmac(secret, timestamp.encode() + b"." + body)
    ):
        raise SignatureError("invalid signature")
    return Signature("v1", sent.lower())


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers a sender sends (for scripts, tests and the fuzz benchmark)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = _hmac(secret, ts.encode() + b"." + body)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"v1={digest}"}
