"""The scheduled preset's schedule, as the wizard creates it, fired by a real beat: runs start
on a real worker and notify the channel the wizard configured."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.orchestration.models import PipelineRun, RunStatus
from apps.orchestration.tests.helpers import wait_until
from tests.support.beat import celery_beat
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_real_beat_fires_the_schedule_the_wizard_created(
    celery_on_test_redis, tmp_path, hook_server
) -> None:
    call_command(
        "setup_instance", "--preset", "scheduled-checks", "--checkers", "memory",
        "--every", "1s", "--notify-when", "always", "--notify", "slack",
        "--slack-webhook-url", f"{hook_server.url}/slack", "--yes",
        stdout=StringIO(),
    )  # fmt: skip

    def completed() -> int:
        return PipelineRun.objects.filter(
            definition_name="scheduled-checks", source="schedule", status=RunStatus.COMPLETED
        ).count()

    with celery_worker(tmp_path), celery_beat(tmp_path):
        wait_until(lambda: completed() >= 2, timeout=90, message="two scheduled runs")

    assert len(hook_server.requests) >= 2
    assert "Health check" in hook_server.requests[0].body.decode()
