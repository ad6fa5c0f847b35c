"""Claim-before-send: at most one notification per (run, node, channel).

A node may run again (engine retry, broker redelivery after a worker died). Before sending,
the node claims the channel's ``Delivery`` row with a conditional UPDATE, so of two
concurrent attempts only one sends; a row already ``sent`` is never claimed again. A
``pending`` row whose claim is older than the lease belongs to an attempt that died
mid-send and may be claimed again: that is the one case where a duplicate is possible
(the remote side may have received the message before the worker died).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.notify.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def claim_lease() -> timedelta:
    # Long enough that a send still inside its timeouts is never taken over.
    return timedelta(seconds=max(60.0, float(settings.NOTIFY_HTTP_TIMEOUT) * 6))


@dataclass
class Claim:
    """The outcome of claiming a channel: ``owned`` means this attempt must send."""

    delivery: Delivery
    owned: bool
    reason: str = ""


def claim(run_id: str, node_id: str, channel: str, driver: str) -> Claim:
    """Claim the right to send to ``channel`` for this run and node."""
    now = timezone.now()
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                run_id=run_id,
                node_id=node_id,
                channel=channel,
                driver=driver,
                status=DeliveryStatus.PENDING,
                attempts=1,
                claimed_at=now,
            )
        return Claim(row, owned=True)
    except IntegrityError:
        # Someone (an earlier attempt) already has a row: take it over only if allowed.
        pass
    key = Q(run_id=run_id, node_id=node_id, channel=channel)
    claimable = Q(status=DeliveryStatus.FAILED, retryable=True) | Q(
        status=DeliveryStatus.PENDING, claimed_at__lt=now - claim_lease()
    )
    taken = Delivery.objects.filter(key & claimable).update(
        status=DeliveryStatus.PENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        updated_at=now,
    )
    row = Delivery.objects.get(key)
    if taken:
        return Claim(row, owned=True)
    if row.status == DeliveryStatus.SENT:
        return Claim(row, owned=False, reason="already sent")
    if row.status == DeliveryStatus.FAILED:
        return Claim(row, owned=False, reason="failed permanently")
    return Claim(row, owned=False, reason="being sent by another attempt")


def mark_sent(row: Delivery, response: dict[str, Any]) -> None:
    row.status = DeliveryStatus.SENT
    row.response = response
    row.error = ""
    row.retryable = False
    row.sent_at = timezone.now()
    row.save(update_fields=["status", "response", "error", "retryable", "sent_at", "updated_at"])


def mark_failed(row: Delivery, error: str, *, retryable: bool) -> None:
    row.status = DeliveryStatus.FAILED
    row.error = error
    row.retryable = retryable
    row.save(update_fields=["status", "error", "retryable", "updated_at"])
