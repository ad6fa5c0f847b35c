"""Shared by ``check_health`` and ``run_check``: option parsing, output and exit codes."""

from __future__ import annotations

import json
import socket
from argparse import ArgumentParser, BooleanOptionalAction
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import CommandError, OutputWrapper
from django.core.management.color import Style

from apps.checkers.checkers import CHECKER_REGISTRY, CheckStatus
from apps.checkers.services import summarize

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL = 0, 1, 2


def parse_assignment(checker: str, key: str, text: str) -> Any:
    """A command-line ``text`` as ``checker``'s option ``key``; ``CommandError`` if unusable."""
    cls = CHECKER_REGISTRY[checker]
    spec = cls.option(key)
    if spec is None:
        valid = ", ".join(o.name for o in cls.options) or "none"
        raise CommandError(f"{checker}: unknown option '{key}' (valid options: {valid})")
    try:
        return spec.parse_text(text)
    except ValueError as exc:
        raise CommandError(f"{checker}: option '{key}' {exc}") from None


def parse_option_flags(items: Sequence[str], checkers: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--option CHECKER.KEY=VALUE`` flags as ``{checker: {key: value}}``."""
    parsed: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, text = item.partition("=")
        checker, dot, key = target.partition(".")
        if not sep or not dot or not checker or not key:
            raise CommandError(f"--option {item!r}: expected CHECKER.KEY=VALUE, e.g. cpu.samples=3")
        if checker not in checkers:
            raise CommandError(f"--option {item!r}: checker '{checker}' is not being run")
        parsed.setdefault(checker, {})[key] = parse_assignment(checker, key, text)
    return parsed


def add_exit_code_flags(parser: ArgumentParser) -> None:
    """``--fail-on-warning`` and ``--[no-]fail-on-critical`` (on by default)."""
    parser.add_argument(
        "--fail-on-warning",
        action="store_true",
        help="exit 1 on a warning or unknown result (and 2 on critical)",
    )
    parser.add_argument(
        "--fail-on-critical",
        action=BooleanOptionalAction,
        default=True,
        help="exit 2 when a check is critical (default); --no-fail-on-critical always exits 0",
    )


def exit_code_from_options(results: Sequence[dict[str, Any]], options: dict[str, Any]) -> int:
    """The exit code the flags of ``add_exit_code_flags`` ask for."""
    if options["fail_on_warning"] and not options["fail_on_critical"]:
        raise CommandError("--fail-on-warning and --no-fail-on-critical contradict each other")
    return exit_code(
        results,
        fail_on_warning=options["fail_on_warning"],
        fail_on_critical=options["fail_on_critical"],
    )


def exit_code(
    results: Sequence[dict[str, Any]], *, fail_on_warning: bool, fail_on_critical: bool
) -> int:
    """0 unless a fail flag matches: 2 for critical, 1 for warning or unknown.

    ``--fail-on-warning`` implies failing on worse, so it also returns 2 for critical. An
    ``unknown`` result counts as a warning: a check that could not measure is not healthy.
    The commands fail on critical by default, so a cron job or a container healthcheck
    notices a critical host without extra flags.
    """
    worst = CheckStatus.worst([CheckStatus(r["status"]) for r in results])
    if worst == CheckStatus.CRITICAL and (fail_on_critical or fail_on_warning):
        return EXIT_CRITICAL
    if worst in (CheckStatus.WARNING, CheckStatus.UNKNOWN) and fail_on_warning:
        return EXIT_WARNING
    return EXIT_OK


def write_report(
    out: OutputWrapper,
    style: Style,
    results: Sequence[dict[str, Any]],
    *,
    skipped: Sequence[str],
    trace_id: str,
    as_json: bool,
) -> None:
    summary = summarize(results)
    worst = CheckStatus.worst([CheckStatus(r["status"]) for r in results])
    if as_json:
        out.write(
            json.dumps(
                {
                    "hostname": socket.gethostname(),
                    "trace_id": trace_id,
                    "status": worst.value,
                    "summary": summary,
                    "skipped": list(skipped),
                    "results": list(results),
                },
                indent=2,
            )
        )
        return
    out.write(f"Health checks on {socket.gethostname()} (trace {trace_id})")
    colour: dict[str, Callable[[str], str]] = {
        "ok": style.SUCCESS,
        "warning": style.WARNING,
        "critical": style.ERROR,
        "unknown": style.NOTICE,
    }
    for r in results:
        label = f"[{r['status'].upper()}]".ljust(10)
        out.write(f"  {colour[r['status']](label)} {r['checker']:<8} {r['message']}")
    if skipped:
        out.write(f"  Skipped by CHECKERS_SKIP/CHECKERS_SKIP_ALL: {', '.join(skipped)}")
    counts = ", ".join(f"{n} {status}" for status, n in summary.items())
    out.write(f"Summary: {len(results)} check(s): {counts}")
