"""What makes two webhook deliveries "the same", and the record that remembers the first.

A signed delivery is identified by its signature, on every path and pipeline: the same
signature starts at most one run while it can be accepted (replay protection; a sender
retrying re-sends the same signed request and gets the same run). Otherwise a delivery is
identified by the sender's ``Idempotency-Key`` header when it sends one (valid for a day, like
the retry horizons of the senders that use it), else by its source, pipeline and the
(fingerprint, status, event, severity) of every alert in it, valid for
``ALERTS_DEDUP_WINDOW_SECONDS``. A severity change or an acknowledgement is news, so it is
part of the identity; a repeat of the same state is not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.alerts.drivers import NormalizedAlert
from apps.alerts.models import WebhookDelivery
from apps.alerts.webhooks.signatures import Signature

IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class IdempotencyKeyError(ValueError):
    """The ``Idempotency-Key`` header is unusable (too long)."""


@dataclass(frozen=True)
class DedupKey:
    key: str  # sha256 hex of the delivery's identity
    ttl_seconds: int  # how long it keeps a repeat from starting a run


@dataclass(frozen=True)
class PriorRun:
    run_id: str
    trace_id: str


def _digest(*parts: object) -> str:
    text = json.dumps(parts, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def from_header(header: str, *, route: str, definition: str) -> DedupKey | None:
    """The key for a sender-supplied ``Idempotency-Key`` (scoped to the path and pipeline)."""
    header = header.strip()
    if not header:
        return None
    if len(header) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise IdempotencyKeyError(
            f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    return DedupKey(_digest("header", route, definition, header), IDEMPOTENCY_KEY_TTL_SECONDS)


def from_signature(signature: Signature) -> DedupKey:
    """The key for a verified signature: not scoped to a path or pipeline, so a replay to
    another route or ``?definition=`` is caught too.

    A v1 signature is accepted while its timestamp is within the tolerance either side of
    now, so it must be remembered for twice the tolerance; a body-only one never expires by
    itself and is remembered for one tolerance (why it is off unless enabled per source).
    """
    tolerance = settings.ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS
    ttl = 2 * tolerance if signature.scheme == "v1" else tolerance
    return DedupKey(_digest("signature", signature.scheme, signature.digest), ttl)


def from_alerts(source: str, definition: str, alerts: list[NormalizedAlert]) -> DedupKey | None:
    """The key for the alerts' content; None when the window is 0 (content dedup off)."""
    window = settings.ALERTS_DEDUP_WINDOW_SECONDS
    if window <= 0 or not alerts:
        return None
    states = sorted(
        (a.fingerprint, a.status.value, a.event.value, a.severity.value) for a in alerts
    )
    return DedupKey(_digest("content", source, definition, states), window)


def find_recent(key: DedupKey) -> PriorRun | None:
    """The run of an earlier delivery with this key still inside its window, else None.

    Called when claiming the key failed. An expired record is deleted here so the caller can
    claim the key again; the delete is conditional on the row's timestamp, so a fresh record
    written meanwhile is kept.
    """
    row = (
        WebhookDelivery.objects.filter(dedup_key=key.key)
        .values_list("pk", "created_at", "run__run_id", "run__trace_id")
        .first()
    )
    if row is None:
        return None
    pk, created_at, run_id, trace_id = row
    if created_at > timezone.now() - timedelta(seconds=key.ttl_seconds) and run_id:
        return PriorRun(run_id, trace_id)
    WebhookDelivery.objects.filter(pk=pk, created_at=created_at).delete()
    return None
