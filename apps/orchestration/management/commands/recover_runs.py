"""``manage.py recover_runs``: pick up runs that stopped moving, once, in this process.

With a broker, beat runs the same sweep every ``PIPELINE_RECOVERY_INTERVAL_SECONDS`` and the
workers run what it publishes; this command is for the embedded mode (no broker), where an
interrupted process leaves runs behind, and for operators who want a sweep now.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.orchestration import engine
from apps.orchestration.definition_orchestrator import drain
from apps.orchestration.dispatch import broker_configured


class Command(BaseCommand):
    help = "Publish (or, without a broker, run here) the current node of every stalled run."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--limit", type=int, default=500, help="At most this many runs per sweep."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if broker_configured():
            from apps.orchestration.celery_runner import CeleryRunner

            recovered = engine.recover_stalled_runs(CeleryRunner(), limit=options["limit"])
            self.stdout.write(f"Published {len(recovered)} stalled run(s) to the workers.")
        else:
            runner = engine.InlineRunner()
            recovered = engine.recover_stalled_runs(runner, limit=options["limit"])
            drain(runner)
            self.stdout.write(f"Recovered {len(recovered)} stalled run(s) in this process.")
        for run_id in recovered:
            self.stdout.write(f"  {run_id}")
