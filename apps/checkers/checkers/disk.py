"""Disk space used on each configured path."""

from __future__ import annotations

from typing import Any

import psutil

from apps.checkers.checkers.base import BaseChecker, Measurement
from apps.checkers.checkers.options import Names, option, thresholds
from apps.checkers.checkers.paths import measure_paths
from apps.checkers.checkers.units import gib


def _probe(path: str) -> tuple[float | None, dict[str, Any]]:
    usage = psutil.disk_usage(path)
    return usage.percent, {
        "total_gb": gib(usage.total),
        "used_gb": gib(usage.used),
        "free_gb": gib(usage.free),
    }


class DiskChecker(BaseChecker):
    name = "disk"
    description = "Disk space used in percent on each path"

    class Options(thresholds(80.0, 90.0, "percent")):  # type: ignore[misc]
        paths: Names = option(["/"], "paths (mount points) to check", minimum=1)

    def measure(self, config: dict[str, Any]) -> Measurement:
        return measure_paths(config["paths"], _probe, config, "disk")
