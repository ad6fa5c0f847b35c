"""The ``context`` node: a snapshot of the host and, optionally, graded health checks.

Config (all optional; with neither ``include`` nor ``checker_names`` it snapshots cpu, memory
and disk):

- ``include``: any of ``cpu, memory, disk, processes`` → output ``system``
- ``disk_path`` (default ``/``) and ``top_processes`` (default 5) for the snapshot
- ``checker_names``: checkers from ``CHECKER_REGISTRY`` → output ``checks``, ``checks_run``
- ``checker_options``: ``{checker: {option: value}}``, e.g. ``{"disk": {"paths": ["/"]}}``

Results name the host that measured them; a node's ``queue`` pins it to a host-specific worker.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError

from apps.checkers.checkers import CHECKER_REGISTRY, CheckerConfigError, CheckStatus
from apps.checkers.system import DEFAULT_INCLUDE, SYSTEM_METRICS, collect_system
from apps.orchestration.errors import RetryableNodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType

logger = logging.getLogger(__name__)

_CONFIG_KEYS = ("include", "disk_path", "top_processes", "checker_names", "checker_options")


class ContextNodeHandler(BaseNodeHandler):
    node_type = NodeType.CONTEXT
    name = "context"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        """Output: ``hostname``, ``system``, ``metrics_included``, ``checks``, ``checks_run``,
        ``checks_skipped``, ``status`` (worst check status), ``summary`` (counts per status),
        ``collected_at``. Bad config is a permanent error; a failing check is an ``unknown``
        result, not a node error."""
        # Imported here: the services use models, and this module is imported while the
        # node registry loads, which may be before Django's app registry is ready.
        from apps.checkers.services import resolve_checker_names, run_checks, summarize

        started = time.perf_counter()
        result = self.result(ctx, config)
        result.errors = self.validate_config(config)
        if result.errors:
            return result

        checker_names: list[str] = config.get("checker_names") or []
        if "include" in config:
            include: list[str] = list(config["include"])
        else:
            include = [] if checker_names else list(DEFAULT_INCLUDE)
        snapshot_options = {k: config[k] for k in ("disk_path", "top_processes") if k in config}

        checks: list[dict[str, Any]] = []
        skipped: list[str] = []
        if checker_names:
            skipped = resolve_checker_names(checker_names)[1]
            try:
                checks = run_checks(
                    checker_names,
                    config.get("checker_options") or {},
                    trace_id=ctx.trace_id,
                    run_id=ctx.run_id,
                )
            except DatabaseError as exc:
                # The measurement is cheap to repeat; a database that is back in a moment is not
                # a reason to fail the run.
                raise RetryableNodeError(f"cannot store check results: {exc}") from exc

        statuses = [CheckStatus(c["status"]) for c in checks]
        result.output = {
            "hostname": socket.gethostname(),
            "system": collect_system(include, **snapshot_options),
            "metrics_included": include,
            "checks": checks,
            "checks_run": len(checks),
            "checks_skipped": skipped,
            "status": CheckStatus.worst(statuses).value,
            "summary": summarize(checks),
            "collected_at": time.time(),
        }
        logger.info(
            "context on %s: %d check(s), status %s",
            result.output["hostname"],
            len(checks),
            result.output["status"],
            extra={"trace_id": ctx.trace_id, "run_id": ctx.run_id},
        )
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        from apps.checkers.services import validate_checks  # see execute() for why here

        errors: list[str] = []
        unknown_keys = [k for k in config if k not in _CONFIG_KEYS and k != "id"]
        if unknown_keys:
            errors.append(
                f"Unknown config key(s): {', '.join(unknown_keys)}. "
                f"Valid: {', '.join(_CONFIG_KEYS)}"
            )

        include = config.get("include", [])
        if not _is_str_list(include):
            errors.append("'include' must be a list of strings")
        else:
            invalid = [i for i in include if i not in SYSTEM_METRICS]
            if invalid:
                errors.append(
                    f"Invalid metrics: {', '.join(invalid)}. Valid: {', '.join(SYSTEM_METRICS)}"
                )

        if "disk_path" in config and not (
            isinstance(config["disk_path"], str) and config["disk_path"]
        ):
            errors.append("'disk_path' must be a non-empty string")
        top = config.get("top_processes", 5)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
            errors.append("'top_processes' must be a whole number from 1 to 100")

        names = config.get("checker_names", [])
        options = config.get("checker_options", {})
        if not _is_str_list(names):
            errors.append("'checker_names' must be a list of strings")
            return errors
        unknown = [n for n in names if n not in CHECKER_REGISTRY]
        if unknown:
            errors.append(
                f"Unknown checker(s): {', '.join(unknown)}. "
                f"Available: {', '.join(CHECKER_REGISTRY)}"
            )
        elif not isinstance(options, Mapping):
            errors.append("'checker_options' must be an object: {checker: {option: value}}")
        else:
            try:
                validate_checks(names, options)
            except CheckerConfigError as exc:
                errors.extend(exc.errors)
        return errors


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
