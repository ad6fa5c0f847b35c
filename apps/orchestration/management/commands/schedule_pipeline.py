"""Schedule a pipeline definition on celery beat.

Usage:
    python manage.py schedule_pipeline health-check --every 5m
    python manage.py schedule_pipeline health-check --cron "*/5 * * * *"
    python manage.py schedule_pipeline --list
    python manage.py schedule_pipeline health-check --delete            # all of its schedules
    python manage.py schedule_pipeline --delete --name health-check-every-5m
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.orchestration.schedules import (
    ScheduleError,
    create_schedule,
    delete_schedule,
    describe_schedule,
    list_schedules,
)


class Command(BaseCommand):
    help = "Start a definition every N (30s, 5m, 1h, 1d) or on a cron expression (UTC)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("definition", nargs="?", help="Definition name (saved or built-in)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--every", help="Interval: 30s, 5m, 2h, 1d")
        when.add_argument("--cron", help="Five-field cron expression, e.g. '*/5 * * * *'")
        when.add_argument("--list", action="store_true", help="List pipeline schedules")
        when.add_argument("--delete", action="store_true", help="Delete schedules")
        parser.add_argument("--name", help="Schedule name (default <definition>-every-<every>)")
        parser.add_argument("--disabled", action="store_true", help="Create it switched off")

    def handle(self, *args: Any, **options: Any) -> None:
        definition = options["definition"]
        if options["list"]:
            self._list(definition)
            return
        if options["delete"]:
            self._delete(definition, options["name"])
            return
        if not definition:
            raise CommandError("Name the definition to schedule, e.g. health-check")
        if not options["every"] and not options["cron"]:
            raise CommandError("Give --every (e.g. 5m) or --cron (e.g. '*/5 * * * *')")
        try:
            task = create_schedule(
                definition,
                every=options["every"],
                cron=options["cron"],
                name=options["name"],
                enabled=not options["disabled"],
            )
        except ScheduleError as exc:
            raise CommandError(str(exc)) from None
        info = describe_schedule(task)
        when = f"every {info['every']}" if info["every"] else f"on cron {info['cron']!r} (UTC)"
        self.stdout.write(self.style.SUCCESS(f"Scheduled {definition} {when} as {task.name}"))
        self.stdout.write("celery beat (make beat) fires it; runs appear in monitor_pipeline.")

    def _list(self, definition: str | None) -> None:
        schedules = [describe_schedule(t) for t in list_schedules(definition)]
        if not schedules:
            self.stdout.write("No pipeline schedules.")
            return
        self.stdout.write(f"{'NAME':<40} {'DEFINITION':<24} {'WHEN':<22} {'ON':<4} LAST RUN")
        for s in schedules:
            when = f"every {s['every']}" if s["every"] else s["cron"]
            self.stdout.write(
                f"{s['name']:<40} {s['definition']:<24} {when:<22} "
                f"{'yes' if s['enabled'] else 'no':<4} {s['last_run_at'] or '-'}"
            )

    def _delete(self, definition: str | None, name: str | None) -> None:
        names = (
            [name] if name else [t.name for t in list_schedules(definition)] if definition else []
        )
        if not names:
            raise CommandError("Give the definition (deletes all its schedules) or --name")
        deleted = [n for n in names if delete_schedule(n)]
        if not deleted:
            raise CommandError(f"No pipeline schedule found for {name or definition!r}")
        for n in deleted:
            self.stdout.write(self.style.SUCCESS(f"Deleted schedule {n}"))
