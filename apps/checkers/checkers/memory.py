"""Physical memory in use (``available`` is what the kernel can hand out without swapping)."""

from __future__ import annotations

from typing import Any

import psutil

from apps.checkers.checkers.base import BaseChecker, Measurement, grade
from apps.checkers.checkers.options import thresholds
from apps.checkers.checkers.units import gib


class MemoryChecker(BaseChecker):
    name = "memory"
    description = "Physical memory used in percent"
    Options = thresholds(80.0, 95.0, "percent")

    def measure(self, config: dict[str, Any]) -> Measurement:
        mem = psutil.virtual_memory()
        status = grade(mem.percent, config["warning"], config["critical"])
        return Measurement(
            status,
            f"Memory {mem.percent}% used ({gib(mem.total - mem.available)} of "
            f"{gib(mem.total)} GiB)",
            {
                "percent": mem.percent,
                "total_bytes": mem.total,
                "available_bytes": mem.available,
                "used_bytes": mem.used,
            },
        )
