"""Periodic housekeeping for the alerts app (names are stable: beat stores them)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.alerts.models import WebhookDelivery
from apps.alerts.webhooks.idempotency import IDEMPOTENCY_KEY_TTL_SECONDS

logger = logging.getLogger(__name__)


def prune_webhook_deliveries(now=None) -> int:
    """Delete dedup records no window can still use; returns how many went."""
    horizon = max(
        IDEMPOTENCY_KEY_TTL_SECONDS,
        settings.ALERTS_DEDUP_WINDOW_SECONDS,
        # A signature is remembered while it can still be accepted (idempotency.from_signature).
        2 * settings.ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS,
    )
    cutoff = (now or timezone.now()) - timedelta(seconds=horizon)
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("pruned %s webhook delivery records older than %s", deleted, cutoff)
    return deleted


@shared_task(name="alerts.prune_webhook_deliveries", ignore_result=True)
def prune_webhook_deliveries_task() -> int:
    return prune_webhook_deliveries()
