"""Beat's default schedule, installed into django-celery-beat's tables.

django-celery-beat stores task names as strings, so the names here must stay stable.
"""

from __future__ import annotations

from django.conf import settings

RECOVERY_TASK_NAME = "orchestration.recover_stalled_runs"
RECOVERY_SCHEDULE_NAME = "pipeline-recovery"


def install_default_schedule() -> None:
    """Create or update the periodic recovery task (idempotent)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(
        every=settings.PIPELINE_RECOVERY_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=RECOVERY_SCHEDULE_NAME,
        defaults={"task": RECOVERY_TASK_NAME, "interval": interval, "enabled": True},
    )
