"""Run health checks on this host, store the results and report them.

manage.py check_health                       # every checker not in CHECKERS_SKIP
manage.py check_health cpu disk --disk-paths /,/var --fail-on-warning
manage.py check_health --no-fail-on-critical   # report only: always exit 0
manage.py check_health --warning 70 --critical 90 --json
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
from apps.checkers.services import resolve_checker_names, run_checks, skipped_checkers

# The setup wizard's answers (disk_paths, network_hosts, process_names) as flags.
_WIZARD_FLAGS = {
    "disk_paths": ("disk", "paths"),
    "network_hosts": ("network", "hosts"),
    "process_names": ("process", "names"),
}


class Command(BaseCommand):
    help = (
        "Run health checks (all registered ones not skipped by CHECKERS_SKIP when no names are "
        "given). Exit code 2 when a check is critical (--no-fail-on-critical: always 0), "
        "1 on warning/unknown with --fail-on-warning, else 0."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("checkers", nargs="*", metavar="CHECKER", help="checkers to run")
        parser.add_argument("--list", action="store_true", help="list the checkers and exit")
        parser.add_argument("--json", action="store_true", help="print results as JSON")
        parser.add_argument(
            "--warning", metavar="PERCENT", help="warning threshold for percent-based checkers"
        )
        parser.add_argument(
            "--critical", metavar="PERCENT", help="critical threshold for percent-based checkers"
        )
        parser.add_argument("--disk-paths", metavar="P1,P2", help="paths for the disk checker")
        parser.add_argument(
            "--network-hosts", metavar="H1,H2", help="hosts for the network checker"
        )
        parser.add_argument(
            "--process-names", metavar="N1,N2", help="process names for the process checker"
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="CHECKER.KEY=VALUE",
            help="any checker option, e.g. cpu.samples=3 or load.warning=1.5 (repeatable)",
        )
        add_exit_code_flags(parser)
        parser.add_argument("--trace-id", help="trace id stored with the results")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        try:
            to_run, skipped = resolve_checker_names(options["checkers"])
        except CheckerConfigError as exc:
            raise CommandError(str(exc)) from None
        by_checker = self._options_by_checker(to_run, options)
        trace_id = options["trace_id"] or uuid.uuid4().hex
        try:
            results = run_checks(to_run, by_checker, trace_id=trace_id) if to_run else []
        except CheckerConfigError as exc:
            raise CommandError(str(exc)) from None
        write_report(
            self.stdout,
            self.style,
            results,
            skipped=skipped,
            trace_id=trace_id,
            as_json=options["json"],
        )
        code = exit_code_from_options(results, options)
        if code:
            raise SystemExit(code)

    def _options_by_checker(
        self, to_run: list[str], options: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        by_checker: dict[str, dict[str, Any]] = {}
        for flag in ("warning", "critical"):
            if options[flag] is None:
                continue
            targets = [n for n in to_run if CHECKER_REGISTRY[n].threshold_unit() == "percent"]
            if not targets:
                raise CommandError(
                    f"--{flag} applies to percent-based checkers, and none is being run; "
                    f"use --option CHECKER.{flag}=VALUE"
                )
            for name in targets:
                by_checker.setdefault(name, {})[flag] = parse_assignment(name, flag, options[flag])
        for flag, (checker, key) in _WIZARD_FLAGS.items():
            if options[flag] is None:
                continue
            if checker not in to_run:
                raise CommandError(f"--{flag.replace('_', '-')} given but '{checker}' is not run")
            by_checker.setdefault(checker, {})[key] = parse_assignment(checker, key, options[flag])
        # Explicit CHECKER.KEY options are the most specific, so they win.
        for checker, values in parse_option_flags(options["option"], to_run).items():
            by_checker.setdefault(checker, {}).update(values)
        return by_checker

    def _list(self) -> None:
        skip = skipped_checkers()
        for number, (name, cls) in enumerate(CHECKER_REGISTRY.items(), start=1):
            flags = " [skipped]" if name in skip else ""
            self.stdout.write(f"{number}. {name}{flags}: {cls.description}")
            for opt in cls.options:
                default = ",".join(opt.default) if isinstance(opt.default, list) else opt.default
                unit = f" ({opt.unit})" if opt.unit else ""
                self.stdout.write(f"     {opt.name}={default}  {opt.help}{unit}")
