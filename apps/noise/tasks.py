"""Beat's noise work, on the ``maintenance`` queue. Task names are stable: django-celery-beat
stores them. Each task is a thin call into ``sweeps``; a double firing starts one run per
slot (see ``sweeps``), so redelivery is harmless."""

from __future__ import annotations

from celery import shared_task

from apps.noise import sweeps

REMINDERS_TASK = "noise.send_reminders"
SILENCE_ENDS_TASK = "noise.end_silences"
FLAP_ENDS_TASK = "noise.end_flapping"
PRUNE_TASK = "noise.prune"


@shared_task(name=REMINDERS_TASK, ignore_result=True)
def send_reminders_task() -> int:
    return sweeps.send_reminders()


@shared_task(name=SILENCE_ENDS_TASK, ignore_result=True)
def end_silences_task() -> int:
    return sweeps.end_silences()


@shared_task(name=FLAP_ENDS_TASK, ignore_result=True)
def end_flapping_task() -> int:
    return sweeps.end_flapping()


@shared_task(name=PRUNE_TASK, ignore_result=True)
def prune_task() -> int:
    return sweeps.prune()
