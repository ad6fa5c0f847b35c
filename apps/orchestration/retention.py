"""Run retention: finished runs older than ``RUN_RETENTION_DAYS`` are deleted, with their
node executions and delivery records. Open runs are never touched, whatever their age."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.orchestration.models import OPEN_RUN_STATUSES, PipelineRun

logger = logging.getLogger(__name__)

BATCH = 500


def prune_runs(now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete finished runs created before the retention horizon, a batch per transaction
    (a long delete would hold locks the engine waits on); returns how many went."""
    from apps.notify.models import Delivery

    days = settings.RUN_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = PipelineRun.objects.filter(created_at__lt=cutoff).exclude(status__in=OPEN_RUN_STATUSES)
    deleted = 0
    while True:
        rows = list(old.order_by("pk").values_list("pk", "run_id")[:batch])
        if not rows:
            break
        with transaction.atomic():
            # The ledger refers to runs by id (no foreign key): it goes with them.
            Delivery.objects.filter(run_id__in=[run_id for _, run_id in rows]).delete()
            PipelineRun.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        deleted += len(rows)
    if deleted:
        logger.info(
            "pruned %s runs created before %s (RUN_RETENTION_DAYS=%s)", deleted, cutoff, days
        )
    return deleted
