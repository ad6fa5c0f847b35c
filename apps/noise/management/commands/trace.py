"""``manage.py trace <run id | incident id | alert fingerprint>``: why was (or wasn't) anyone
notified. Prints delivery → dedup → change gate → noise decisions → run → nodes → each
channel's delivery, in time order (see docs/noise.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.noise import trace


class Command(BaseCommand):
    help = "Explain an incident's notifications: deliveries, decisions, runs, channels."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("target", help="a run id, an incident id or an alert fingerprint")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--run", action="store_true", help="TARGET is a run id")
        kind.add_argument("--incident", action="store_true", help="TARGET is an incident id")
        kind.add_argument("--alert", action="store_true", help="TARGET is an alert fingerprint")
        parser.add_argument(
            "--limit",
            type=int,
            default=trace.DEFAULT_LIMIT,
            help="show the latest N events of an incident (0: all)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        target: str = options["target"]
        limit: int = max(0, options["limit"])
        try:
            if options["run"]:
                traces = [trace.build_run(target)]
            elif options["incident"]:
                if not target.isdigit():
                    raise CommandError(f"an incident id is a number, got {target!r}")
                traces = [trace.build_incident(int(target), limit=limit)]
            elif options["alert"]:
                traces = trace.build_fingerprint(target, limit=limit)
                if not traces:
                    raise trace.TraceNotFound(f"no alert with fingerprint {target!r}")
            else:
                traces = trace.build_for(target, limit=limit)
        except trace.TraceNotFound as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(traces, indent=2, default=str))
            return
        self.stdout.write("\n\n".join(trace.render(t) for t in traces))
