"""Shared mechanics for checkers that grade each of several filesystem paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.checkers.checkers.base import CheckStatus, Measurement, grade

# Measures one path: (percent used or None when the filesystem cannot say, extra metrics).
PathProbe = Callable[[str], tuple[float | None, dict[str, Any]]]


def measure_paths(
    paths: list[str], probe: PathProbe, config: dict[str, Any], label: str
) -> Measurement:
    """Grade every path; the check's status is the worst of them.

    A path that cannot be read (missing, permission) is ``unknown`` on its own, so one bad
    mount does not hide the measurements of the others.
    """
    per_path: dict[str, dict[str, Any]] = {}
    statuses: list[CheckStatus] = []
    parts: list[str] = []
    for path in paths:
        try:
            percent, metrics = probe(path)
        except OSError as exc:
            status = CheckStatus.UNKNOWN
            metrics = {"error": f"{type(exc).__name__}: {exc}"}
            parts.append(f"{path}: cannot read ({exc.strerror or exc})")
        else:
            if percent is None:
                status = CheckStatus.OK
                parts.append(f"{path}: {label} not reported by this filesystem")
            else:
                status = grade(percent, config["warning"], config["critical"])
                parts.append(f"{path}: {percent}% {label} used")
            metrics = {**metrics, "percent": percent}
        metrics["status"] = status.value
        per_path[path] = metrics
        statuses.append(status)
    worst = CheckStatus.worst(statuses)
    known = [m["percent"] for m in per_path.values() if m.get("percent") is not None]
    return Measurement(
        worst,
        "; ".join(parts),
        {"paths": per_path, "max_percent": max(known) if known else None},
    )
