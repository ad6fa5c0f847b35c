"""Inodes used on each configured path: a disk can be "full" with free bytes left."""

from __future__ import annotations

import os
from typing import Any

from apps.checkers.checkers.base import BaseChecker, Measurement
from apps.checkers.checkers.options import Names, option, thresholds
from apps.checkers.checkers.paths import measure_paths


def _probe(path: str) -> tuple[float | None, dict[str, Any]]:
    st = os.statvfs(path)
    total, free = st.f_files, st.f_ffree
    metrics = {"inodes_total": total, "inodes_free": free, "inodes_used": total - free}
    if total == 0:
        # btrfs and some overlay filesystems allocate inodes dynamically and report 0.
        return None, metrics
    return round((total - free) / total * 100, 1), metrics


class InodesChecker(BaseChecker):
    name = "inodes"
    description = "Filesystem inodes used in percent on each path"

    class Options(thresholds(80.0, 90.0, "percent")):  # type: ignore[misc]
        paths: Names = option(["/"], "paths (mount points) to check", minimum=1)

    def measure(self, config: dict[str, Any]) -> Measurement:
        return measure_paths(config["paths"], _probe, config, "inodes")
