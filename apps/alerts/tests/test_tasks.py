"""Housekeeping: old webhook dedup records are pruned, recent ones kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import WebhookDelivery
from apps.alerts.tasks import prune_webhook_deliveries
from workers.app import app

pytestmark = pytest.mark.django_db


def test_records_past_every_window_are_pruned_and_recent_ones_kept():
    old = WebhookDelivery.objects.create(source="grafana", dedup_key="a" * 64)
    recent = WebhookDelivery.objects.create(source="grafana", dedup_key="b" * 64)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert prune_webhook_deliveries() == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [recent.pk]


def test_pruning_is_in_beats_default_schedule():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "alerts.prune_webhook_deliveries" in tasks


def test_signature_records_are_kept_while_the_signature_can_be_accepted(settings):
    # A tolerance of a day: a v1 signature stays valid for two, so must its record.
    settings.ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 24 * 3600
    record = WebhookDelivery.objects.create(source="generic", dedup_key="c" * 64)
    WebhookDelivery.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(days=1, hours=12)
    )
    assert prune_webhook_deliveries() == 0
