"""``manage.py noise_sweep``: the noise sweeps once, now (reminders and storm digests, the
end of silences and of flapping). Beat runs them every ``NOISE_SWEEP_INTERVAL_SECONDS``; this
is for the embedded mode (no broker, no beat: run it from cron) and for operators."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.noise import sweeps
from apps.orchestration.dispatch import broker_configured


class Command(BaseCommand):
    help = "Send due reminders and storm digests; handle ended silences and flapping."

    def handle(self, *args: Any, **options: Any) -> None:
        if not broker_configured():
            # No workers: run the sweeps' runs here, before this short-lived process exits
            # (background threads would die with it and leave them to recovery).
            settings.PIPELINE_EMBEDDED_EXECUTION = "inline"
        reminders = sweeps.send_reminders()
        silences = sweeps.end_silences()
        flapping = sweeps.end_flapping()
        self.stdout.write(
            f"Started {reminders} reminder/digest run(s), {silences} after-maintenance "
            f"run(s), {flapping} end-of-flapping run(s)."
        )
