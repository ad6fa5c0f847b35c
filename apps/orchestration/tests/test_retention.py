"""Retention: finished runs past RUN_RETENTION_DAYS go, with their executions and deliveries;
open runs and recent runs stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notify.models import Delivery
from apps.orchestration.models import PipelineRun, StageExecution
from apps.orchestration.retention import prune_runs
from workers.app import app

pytestmark = pytest.mark.django_db


def aged(status: str, days: int) -> PipelineRun:
    run = PipelineRun.objects.create(definition_name="p", trace_id="t", status=status)
    PipelineRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=days))
    StageExecution.objects.create(
        run=run, node_id="a", node_type="transform", idempotency_key=f"{run.run_id}:a:1"
    )
    Delivery.objects.create(run_id=run.run_id, node_id="n", channel="ops", driver="generic")
    return run


def test_old_finished_runs_go_with_their_records(settings):
    settings.RUN_RETENTION_DAYS = 30
    old = [aged("completed", 40), aged("failed", 31), aged("cancelled", 90)]
    kept = [aged("completed", 5), aged("running", 40), aged("pending", 400)]

    assert prune_runs(batch=2) == 3

    assert set(PipelineRun.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert not StageExecution.objects.filter(run_id__in=[r.pk for r in old]).exists()
    assert not Delivery.objects.filter(run_id__in=[r.run_id for r in old]).exists()
    assert Delivery.objects.count() == 3


def test_zero_days_keeps_everything(settings):
    settings.RUN_RETENTION_DAYS = 0
    aged("completed", 4000)
    assert prune_runs() == 0
    assert PipelineRun.objects.count() == 1


def test_beat_runs_retention_hourly_on_the_maintenance_queue():
    [entry] = [
        e for e in app.conf.beat_schedule.values() if e["task"] == "orchestration.prune_runs"
    ]
    assert entry["schedule"] == 3600.0
    assert entry["options"]["queue"] == "maintenance"
