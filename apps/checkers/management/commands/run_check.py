"""Run one checker with its own options, store the result and report it.

manage.py run_check disk --path / --path /var --warning 70 --critical 85
manage.py run_check network --host 10.0.0.5:5432 --timeout 1 --json
manage.py run_check process --process nginx --process postgres --fail-on-critical
"""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.checkers.checkers import CHECKER_REGISTRY, CheckerConfigError
from apps.checkers.reporting import (
    add_exit_code_flags,
    exit_code_from_options,
    parse_assignment,
    parse_option_flags,
    write_report,
)
from apps.checkers.services import run_checks

# flag dest → checker option name; list options are repeatable flags.
_FLAG_OPTIONS = {
    "warning": "warning",
    "critical": "critical",
    "path": "paths",
    "host": "hosts",
    "process": "names",
    "samples": "samples",
    "interval": "interval",
    "window": "window",
    "method": "method",
    "port": "port",
    "timeout": "timeout",
}


class Command(BaseCommand):
    help = (
        "Run one checker with its options. Exit code 2 when critical (--no-fail-on-critical: "
        "always 0), 1 on warning/unknown with --fail-on-warning, else 0."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("checker", help=f"one of: {', '.join(CHECKER_REGISTRY)}")
        parser.add_argument("--warning", help="warning threshold (unit depends on the checker)")
        parser.add_argument("--critical", help="critical threshold")
        parser.add_argument("--path", action="append", help="disk, inodes: path (repeatable)")
        parser.add_argument("--host", action="append", help="network: host[:port] (repeatable)")
        parser.add_argument("--process", action="append", help="process: name (repeatable)")
        parser.add_argument("--samples", help="cpu: readings to average")
        parser.add_argument("--interval", help="cpu: seconds per reading")
        parser.add_argument("--window", help="load: 1, 5 or 15 minutes")
        parser.add_argument("--method", help="network: auto, tcp or icmp")
        parser.add_argument("--port", help="network: TCP port for hosts without one")
        parser.add_argument("--timeout", help="network: seconds per host")
        parser.add_argument(
            "--option", action="append", default=[], metavar="KEY=VALUE", help="any option"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        add_exit_code_flags(parser)
        parser.add_argument("--trace-id", help="trace id stored with the result")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["checker"]
        if name not in CHECKER_REGISTRY:
            raise CommandError(f"Unknown checker: {name}. Available: {', '.join(CHECKER_REGISTRY)}")
        checker_options = self._checker_options(name, options)
        trace_id = options["trace_id"] or uuid.uuid4().hex
        try:
            results = run_checks([name], {name: checker_options}, trace_id=trace_id)
        except CheckerConfigError as exc:
            raise CommandError(str(exc)) from None
        write_report(
            self.stdout,
            self.style,
            results,
            skipped=[] if results else [name],
            trace_id=trace_id,
            as_json=options["json"],
        )
        code = exit_code_from_options(results, options)
        if code:
            raise SystemExit(code)

    def _checker_options(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        cls = CHECKER_REGISTRY[name]
        valid = ", ".join(o.name for o in cls.options)
        parsed: dict[str, Any] = {}
        for flag, key in _FLAG_OPTIONS.items():
            value = options[flag]
            if value is None:
                continue
            if cls.option(key) is None:
                raise CommandError(f"{name} does not take --{flag} (its options: {valid})")
            text = ",".join(value) if isinstance(value, list) else value
            parsed[key] = parse_assignment(name, key, text)
        prefixed = [f"{name}.{item}" for item in options["option"]]
        parsed.update(parse_option_flags(prefixed, [name]).get(name, {}))
        return parsed
