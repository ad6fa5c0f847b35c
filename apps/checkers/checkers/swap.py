"""Swap in use: steady swapping is the early sign of memory pressure."""

from __future__ import annotations

from typing import Any

import psutil

from apps.checkers.checkers.base import (
    BaseChecker,
    CheckStatus,
    Measurement,
    grade,
)
from apps.checkers.checkers.options import thresholds
from apps.checkers.checkers.units import gib


class SwapChecker(BaseChecker):
    name = "swap"
    description = "Swap space used in percent"
    Options = thresholds(50.0, 80.0, "percent")

    def measure(self, config: dict[str, Any]) -> Measurement:
        swap = psutil.swap_memory()
        metrics = {
            "percent": swap.percent,
            "total_bytes": swap.total,
            "used_bytes": swap.used,
            "free_bytes": swap.free,
        }
        if swap.total == 0:
            # Many containers and cloud images run without swap; nothing can fill up.
            return Measurement(CheckStatus.OK, "No swap configured", metrics)
        status = grade(swap.percent, config["warning"], config["critical"])
        return Measurement(
            status,
            f"Swap {swap.percent}% used ({gib(swap.used)} of {gib(swap.total)} GiB)",
            metrics,
        )
