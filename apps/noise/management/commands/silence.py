"""``manage.py silence add|list|expire``: maintenance windows from the command line.

    manage.py silence add host=db-1 'alertname=~Disk.*' --duration 2h \\
        --comment "disk replacement" --author alice
    manage.py silence list [--all]
    manage.py silence expire 12
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from apps.noise import clock, silences
from apps.noise.config import DurationError, parse_duration
from apps.noise.decide import at
from apps.noise.matchers import MatcherError, parse_all
from apps.noise.models import Silence


def _moment(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"{flag}: {text!r} is not an ISO 8601 time with a zone (…Z, +02:00)")
    return moment


class Command(BaseCommand):
    help = "Add, list or expire silences (maintenance windows)."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="silence matching alerts for a while")
        add.add_argument(
            "matchers",
            nargs="+",
            help="name=value, name!=value, name=~regex, name!~regex; names: source, "
            "severity, host, alertname, or any label",
        )
        add.add_argument("--duration", help="how long, e.g. 2h, 30m, 1d (or --ends)")
        add.add_argument("--ends", help="end time, ISO 8601 with a zone")
        add.add_argument("--starts", help="start time, ISO 8601 with a zone (default: now)")
        add.add_argument("--comment", required=True, help="why (operators read this later)")
        add.add_argument("--author", default="", help="who (default: the current user)")
        listing = actions.add_parser("list", help="active and pending silences")
        listing.add_argument("--all", action="store_true", help="include expired ones")
        expire = actions.add_parser("expire", help="end silences now")
        expire.add_argument("ids", nargs="+", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _add(self, options: dict[str, Any]) -> None:
        try:
            matchers = parse_all(options["matchers"])
            duration = parse_duration(options["duration"]) if options["duration"] else None
        except (MatcherError, DurationError) as exc:
            raise CommandError(str(exc)) from None
        try:
            silence = silences.create(
                matchers,
                created_by=options["author"] or getpass.getuser(),
                comment=options["comment"],
                duration=duration,
                ends_at=_moment(options["ends"], "--ends"),
                starts_at=_moment(options["starts"], "--starts"),
            )
        except silences.SilenceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Silence {silence.pk} added: {silence.describe()} from {at(silence.starts_at)} "
            f"until {at(silence.ends_at)} by {silence.created_by} ({silence.comment})"
        )

    def _list(self, options: dict[str, Any]) -> None:
        rows = list(silences.listing(include_expired=options["all"]))
        if not rows:
            self.stdout.write(
                "No silences." if options["all"] else "No active or pending silences."
            )
            return
        now = clock.now()
        for s in rows:
            self.stdout.write(
                f"{s.pk:>5}  {s.state(now):<8} {s.starts_at:%Y-%m-%d %H:%M} → "
                f"{s.ends_at:%Y-%m-%d %H:%M}  {s.describe()}  by {s.created_by}: {s.comment}"
            )

    def _expire(self, options: dict[str, Any]) -> None:
        found = {s.pk: s for s in Silence.objects.filter(pk__in=options["ids"])}
        missing = [pk for pk in options["ids"] if pk not in found]
        for pk in options["ids"]:
            if pk in found:
                ended = silences.expire(found[pk])
                self.stdout.write(f"Silence {pk} {'expired' if ended else 'had already ended'}.")
        if missing:
            raise CommandError(f"no silence {', '.join(map(str, missing))}")
