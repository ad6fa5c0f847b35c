"""Schedule a pipeline definition on celery beat.

Usage:
    python manage.py schedule_pipeline health-check --every 5m
    python manage.py schedule_pipeline health-check --cron "*/5 * * * *"
    python manage.py schedule_pipeline --list
    python manage.py schedule_pipeline health-check --delete            # all of its schedules
    python manage.py schedule_pipeline --delete --name "health-check every 5m"
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.orchestration.schedules import (
    ScheduleError,
    create_schedule,
    delete_schedule,
    list_schedules,
)


class Command(BaseCommand):
    help = "Start a definition every N (30s, 5m, 1h, 1d) or on a cron expression (UTC)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("definition", nargs="?", help="Definition name (saved or built-in)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--every", help="Interval: 30s, 5m, 1h, 1d or 1h30m")
        when.add_argument("--cron", help="Five-field cron expression, e.g. '*/5 * * * *'")
        when.add_argument("--list", action="store_true", help="List pipeline schedules")
        when.add_argument("--delete", action="store_true", help="Delete schedules")
        parser.add_argument("--name", help="Schedule name (default '<definition> every <every>')")
        parser.add_argument("--environment", default="production", help="Handed to each run")
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
            schedule = create_schedule(
                definition,
                every=options["every"],
                cron=options["cron"],
                name=options["name"],
                enabled=not options["disabled"],
                environment=options["environment"],
            )
        except ScheduleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Scheduled {definition} {schedule.when} as {schedule.name!r}")
        )
        self.stdout.write("celery beat (make beat) fires it; runs appear in monitor_pipeline.")

    def _list(self, definition: str | None) -> None:
        found = list_schedules(definition)
        if not found:
            self.stdout.write("No pipeline schedules.")
            return
        self.stdout.write(f"{'NAME':<40} {'DEFINITION':<24} {'WHEN':<30} {'ON':<4} LAST RUN")
        for s in found:
            last = s.last_run_at.isoformat() if s.last_run_at else "-"
            self.stdout.write(
                f"{s.name:<40} {s.definition_name:<24} {s.when:<30} "
                f"{'yes' if s.enabled else 'no':<4} {last}"
            )

    def _delete(self, definition: str | None, name: str | None) -> None:
        if name:
            names = [name]
        elif definition:
            names = [s.name for s in list_schedules(definition)]
        else:
            raise CommandError("Give the definition (deletes all its schedules) or --name")
        if not names:
            raise CommandError(f"No pipeline schedule found for {definition!r}")
        for each in names:
            try:
                delete_schedule(each)
            except ScheduleError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(self.style.SUCCESS(f"Deleted schedule {each!r}"))
