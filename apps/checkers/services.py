"""Run checkers by name, store each result as a ``CheckRun`` and return the result dicts.

``CHECKERS_SKIP`` and ``CHECKERS_SKIP_ALL`` are read on every call so an operator (or a test)
can change them without a restart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from apps.checkers.checkers import CHECKER_REGISTRY, CheckerConfigError, get_checker
from apps.checkers.models import CheckRun
from project import rows

logger = logging.getLogger(__name__)

# What ``CHECKERS_SKIP_ALL`` puts in the skip list, so callers can say why.
SKIP_ALL = "*"


def skipped_checkers() -> set[str]:
    """Checker names the operator switched off; every name when ``CHECKERS_SKIP_ALL``."""
    if getattr(settings, "CHECKERS_SKIP_ALL", False):
        return set(CHECKER_REGISTRY)
    return set(getattr(settings, "CHECKERS_SKIP", []) or [])


def resolve_checker_names(names: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """``(to_run, skipped)`` for ``names`` (every registered checker when empty or ``None``).

    Raises ``CheckerConfigError`` naming the unknown checkers and the available ones.
    """
    requested = list(dict.fromkeys(names)) if names else list(CHECKER_REGISTRY)
    unknown = [n for n in requested if n not in CHECKER_REGISTRY]
    if unknown:
        raise CheckerConfigError(
            [f"Unknown checker(s): {', '.join(unknown)}. Available: {', '.join(CHECKER_REGISTRY)}"]
        )
    skip = skipped_checkers()
    return [n for n in requested if n not in skip], [n for n in requested if n in skip]


def validate_checks(
    names: Sequence[str], options_by_checker: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Typed options for each of ``names``; one ``CheckerConfigError`` listing every problem."""
    options_by_checker = options_by_checker or {}
    errors: list[str] = []
    stray = [n for n in options_by_checker if n not in names]
    if stray:
        errors.append(f"Options given for checker(s) not being run: {', '.join(stray)}")
    validated: dict[str, dict[str, Any]] = {}
    for name in names:
        options = options_by_checker.get(name) or {}
        if not isinstance(options, Mapping):
            errors.append(f"{name}: options must be an object, got {options!r}")
            continue
        try:
            validated[name] = CHECKER_REGISTRY[name].validate(options)
        except CheckerConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise CheckerConfigError(errors)
    return validated


def run_checks(
    names: Sequence[str] | None,
    options_by_checker: Mapping[str, Mapping[str, Any]] | None = None,
    trace_id: str | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``names`` (all registered when empty) minus skipped ones, store and return results.

    Every name and option is validated before anything runs; problems raise one
    ``CheckerConfigError``. A failing measurement is an ``unknown`` result, never an exception.
    Each dict is ``CheckResult.to_dict()`` plus ``id``, ``trace_id``, ``run_id``, ``created_at``.
    """
    to_run, skipped = resolve_checker_names(names)
    validated = validate_checks(to_run, _only(options_by_checker, to_run, skipped))
    trace_id = trace_id or uuid.uuid4().hex
    # The log filter fills these from the running node; set them for command-line runs too.
    log_ids = {"trace_id": trace_id, "run_id": run_id or "-"}
    if skipped:
        logger.info("checks skipped by settings: %s", skipped, extra=log_ids)
    results: list[dict[str, Any]] = []
    for name in to_run:
        result = get_checker(name).check(**validated[name]).to_dict()
        # Every context node stores its checks: one statement written once (project/rows).
        row = rows.create(
            CheckRun,
            {
                "checker_name": name,
                "status": result["status"],
                "message": result["message"],
                "metrics": result["metrics"],
                "error": result["error"] or "",
                "hostname": result["hostname"],
                "trace_id": trace_id,
                "run_id": run_id,
                "duration_ms": float(result["duration_ms"]),
            },
        )
        logger.info("check %s: %s - %s", name, result["status"], result["message"], extra=log_ids)
        results.append(
            {
                **result,
                "id": row.pk,
                "trace_id": trace_id,
                "run_id": run_id,
                "created_at": row.created_at.isoformat(),
            }
        )
    return results


def _only(
    options_by_checker: Mapping[str, Mapping[str, Any]] | None,
    to_run: list[str],
    skipped: list[str],
) -> dict[str, Mapping[str, Any]]:
    # Options for a checker the operator skipped are not an error: the definition is still
    # right, the host just does not run that check.
    return {k: v for k, v in (options_by_checker or {}).items() if k not in skipped}


def summarize(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts per status, in severity order."""
    counts = {"ok": 0, "warning": 0, "critical": 0, "unknown": 0}
    for result in results:
        counts[result["status"]] += 1
    return counts
