"""Watch pipeline runs from the command line.

Usage:
    python manage.py monitor_pipeline                         # the 20 most recent runs
    python manage.py monitor_pipeline --status failed --definition health-check --limit 50
    python manage.py monitor_pipeline --follow                # new runs and status changes
    python manage.py monitor_pipeline <run_id>                # one run, node by node
    python manage.py monitor_pipeline <run_id> --follow       # ... until it finishes
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.orchestration.models import PipelineRun, RunStatus


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _ms(value: float | None) -> str:
    return f"{value:.0f}ms" if value is not None else "-"


class Command(BaseCommand):
    help = "Recent pipeline runs as a table, or one run node by node (--follow to watch)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", nargs="?", help="Show this run node by node")
        parser.add_argument("--limit", type=int, default=20, help="Runs in the table (20)")
        parser.add_argument("--status", choices=RunStatus.values, help="Only runs in this state")
        parser.add_argument("--definition", help="Only runs of this definition")
        parser.add_argument("--follow", action="store_true", help="Keep watching")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls")
        parser.add_argument(
            "--timeout", type=float, default=0, help="Stop following after N seconds (0: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        end = time.monotonic() + options["timeout"] if options["timeout"] > 0 else None
        if options["run_id"]:
            self._run(options["run_id"], options["follow"], options["interval"], end)
        else:
            self._table(options, end)

    # --- the table ---------------------------------------------------------------------

    def _runs(self, options: dict[str, Any]) -> list[PipelineRun]:
        qs = PipelineRun.objects.order_by("-created_at", "-id")
        if options["status"]:
            qs = qs.filter(status=options["status"])
        if options["definition"]:
            qs = qs.filter(definition_name=options["definition"])
        return list(qs[: options["limit"]])

    def _row(self, run: PipelineRun) -> str:
        error = (run.error_message or "").replace("\n", " ")[:60]
        return (
            f"{run.run_id:<36}  {_when(run.created_at):<19}  {run.definition_name[:24]:<24}  "
            f"{run.source[:12]:<12}  {run.status:<9}  {(run.current_node or '-')[:16]:<16}  "
            f"{_ms(run.duration_ms):>9}  {error}"
        )

    def _table(self, options: dict[str, Any], end: float | None) -> None:
        header = (
            f"{'RUN ID':<36}  {'CREATED':<19}  {'DEFINITION':<24}  {'SOURCE':<12}  "
            f"{'STATUS':<9}  {'NODE':<16}  {'DURATION':>9}  ERROR"
        )
        self.stdout.write(header)
        runs = self._runs(options)
        if not runs and not options["follow"]:
            self.stdout.write("(no runs)")
        seen: dict[str, tuple[str, str]] = {}
        for run in reversed(runs):
            self.stdout.write(self._row(run))
            seen[run.run_id] = (run.status, run.current_node)
        while options["follow"] and (end is None or time.monotonic() < end):
            time.sleep(options["interval"])
            for run in reversed(self._runs(options)):
                state = (run.status, run.current_node)
                if seen.get(run.run_id) != state:
                    seen[run.run_id] = state
                    self.stdout.write(self._row(run))

    # --- one run -------------------------------------------------------------------------

    def _run(self, run_id: str, follow: bool, interval: float, end: float | None) -> None:
        run = PipelineRun.objects.filter(run_id=run_id[:36]).first()
        if run is None:
            raise CommandError(f"Run not found: {run_id}")
        self.stdout.write(f"Run {run.run_id}  ({run.definition_name} v{run.definition_version})")
        self.stdout.write(f"  Trace ID: {run.trace_id}   Source: {run.source}")
        shown: dict[tuple[str, int], str] = {}
        while True:
            for ex in run.stage_executions.order_by("id"):
                key = (ex.node_id, ex.attempt)
                if shown.get(key) == ex.status:
                    continue
                shown[key] = ex.status
                where = f" on {ex.worker}" if ex.worker else ""
                task = f" task {ex.task_id}" if ex.task_id else ""
                self.stdout.write(
                    f"  [{ex.node_type}] {ex.node_id} attempt {ex.attempt}: {ex.status}"
                    f"{where}{task}  started {_when(ex.started_at)}  {_ms(ex.duration_ms)}"
                )
                if ex.error_message:
                    kind = "retryable" if ex.error_retryable else "permanent"
                    self.stdout.write(
                        f"      {ex.error_type or 'error'} ({kind}): {ex.error_message}"
                    )
            if run.is_finished or not follow or (end is not None and time.monotonic() >= end):
                break
            time.sleep(interval)
            run.refresh_from_db()
        self.stdout.write(f"Status: {run.status}  Duration: {_ms(run.duration_ms)}")
        if run.error_message:
            self.stdout.write(self.style.ERROR(f"Error: {run.error_message}"))
