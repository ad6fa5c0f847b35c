"""Claim-before-send: one notification per (run, node, channel), fenced by the engine's claim.

A node may run again (engine retry, a worker taken over after it died). Before sending, the
node claims the channel's ``Delivery`` row for its execution: the row's ``owner`` is the
engine's claim token of that execution. A row already ``sent`` is never claimed again; a
``pending`` row is left alone while its owner still holds its engine claim (a token exists
only while its execution runs: storing an outcome clears it, a take-over replaces it), and
``mark_*`` land only for the current owner, so an execution declared dead can no longer
record anything.

When a send's outcome is unknown (the request went out, no answer came back, or the sender
died mid-send) the row says so, and the message is sent at most once more, with the same
idempotency key, so a receiver that honours the key drops it and a slow receiver is not
flooded. Rows claimed outside the engine (no token) fall back to a time lease derived from
the node's timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from apps.notify.models import Delivery, DeliveryStatus
from project import rows

logger = logging.getLogger(__name__)

# Sends of one message whose outcome stayed unknown: the first and one resend.
MAX_SENDS_WHEN_UNKNOWN = 2
# A send cannot outlast its node's timeout plus the worker's hard kill margin.
_LEASE_MARGIN_SECONDS = 30.0
# The ON CONFLICT target: the unique (run, node, channel) of notify_delivery_once.
_ONCE = "(run_id, node_id, channel)"


@dataclass
class Claim:
    """The outcome of claiming a channel: ``owned`` means this attempt must send."""

    delivery: Delivery
    owned: bool
    reason: str = ""
    owner: str = ""


def _owner_alive(owner: str, claimed_at: Any, node_timeout: float) -> bool:
    if owner and not owner.startswith("local:"):
        from apps.orchestration.models import StageExecution

        return StageExecution.objects.filter(claim_token=owner).exists()
    lease = timedelta(seconds=max(node_timeout, 1.0) + _LEASE_MARGIN_SECONDS)
    return claimed_at is not None and claimed_at > timezone.now() - lease


def claim(
    run_id: str, node_id: str, channel: str, driver: str, *, owner: str, node_timeout: float
) -> Claim:
    """Claim the right to send to ``channel`` for this run and node."""
    now = timezone.now()
    # One statement, no transaction or savepoint: ON CONFLICT leaves an earlier attempt's row
    # (the unique run, node and channel) as it is, and we judge that one below.
    created = rows.create_unless(
        Delivery,
        {
            "run_id": run_id,
            "node_id": node_id,
            "channel": channel,
            "driver": driver,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 1,
            "claimed_at": now,
            "owner": owner,
        },
        conflict=_ONCE,
    )
    if created is not None:
        return Claim(created, owned=True, owner=owner)
    row = Delivery.objects.get(run_id=run_id, node_id=node_id, channel=channel)
    reason = _refusal(row, node_timeout)
    if reason:
        return Claim(row, owned=False, reason=reason)
    # Conditional on the row being exactly as we judged it: of two claimers one wins.
    taken = Delivery.objects.filter(
        pk=row.pk, status=row.status, owner=row.owner, attempts=row.attempts
    ).update(
        status=DeliveryStatus.PENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        owner=owner,
        updated_at=now,
    )
    row.refresh_from_db()
    if not taken:
        return Claim(row, owned=False, reason="being sent by another attempt")
    return Claim(row, owned=True, owner=owner)


def _refusal(row: Delivery, node_timeout: float) -> str:
    """Why ``row`` may not be claimed now ("" when it may)."""
    if row.status == DeliveryStatus.SENT:
        return "already sent"
    if row.status == DeliveryStatus.FAILED and not row.retryable:
        return "failed permanently"
    if row.status == DeliveryStatus.PENDING and _owner_alive(
        row.owner, row.claimed_at, node_timeout
    ):
        return "being sent by another attempt"
    # An UNKNOWN row, or a PENDING one whose sender died mid-send: it may have arrived.
    unknown = row.status in (DeliveryStatus.UNKNOWN, DeliveryStatus.PENDING)
    if unknown and row.attempts >= MAX_SENDS_WHEN_UNKNOWN:
        return (
            f"outcome unknown after {row.attempts} sends with the same idempotency key; "
            "not sent again"
        )
    return ""


def _finish(row: Delivery, owner: str, **changes: Any) -> bool:
    """Apply ``changes`` if ``owner`` still holds the row's claim."""
    changes["updated_at"] = timezone.now()
    done = rows.update(Delivery, row.pk, changes, owner=owner, status=DeliveryStatus.PENDING.value)
    if not done:
        logger.warning(
            "delivery %s to %s: the claim moved to another attempt; outcome not recorded",
            row.pk,
            row.channel,
        )
        return False
    for field, value in changes.items():
        setattr(row, field, value)
    return True


def mark_sent(row: Delivery, response: dict[str, Any], *, owner: str) -> bool:
    return _finish(
        row,
        owner,
        status=DeliveryStatus.SENT,
        response=response,
        error="",
        retryable=False,
        sent_at=timezone.now(),
    )


def mark_failed(row: Delivery, error: str, *, retryable: bool, owner: str) -> bool:
    return _finish(row, owner, status=DeliveryStatus.FAILED, error=error, retryable=retryable)


def mark_unknown(row: Delivery, error: str, *, owner: str) -> bool:
    """The request may have reached the receiver: resendable once, with the same key."""
    resendable = row.attempts < MAX_SENDS_WHEN_UNKNOWN
    return _finish(row, owner, status=DeliveryStatus.UNKNOWN, error=error, retryable=resendable)


def reopen_failed(run_id: str, node_id: str) -> int:
    """Let a retried run send again to channels that failed for good in ``node_id`` (an
    operator retries after fixing them). Sent and unknown deliveries stay as they are."""
    return Delivery.objects.filter(
        run_id=run_id, node_id=node_id, status=DeliveryStatus.FAILED
    ).update(retryable=True, updated_at=timezone.now())
