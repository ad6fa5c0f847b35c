"""Load average per CPU: a load of 4 is idle on 16 cores and overloaded on 2."""

from __future__ import annotations

from typing import Any

import psutil

from apps.checkers.checkers.base import BaseChecker, Measurement, grade
from apps.checkers.checkers.options import choice, option, thresholds

Window = choice(1, 5, 15)


class LoadChecker(BaseChecker):
    name = "load"
    description = "Load average divided by the number of CPUs"

    class Options(thresholds(1.0, 2.0, "load per CPU")):  # type: ignore[misc]
        window: Window = option(5, "load average window in minutes")

    def measure(self, config: dict[str, Any]) -> Measurement:
        load1, load5, load15 = psutil.getloadavg()
        cpus = psutil.cpu_count() or 1
        per_cpu = {1: load1 / cpus, 5: load5 / cpus, 15: load15 / cpus}
        value = round(per_cpu[config["window"]], 2)
        status = grade(value, config["warning"], config["critical"])
        return Measurement(
            status,
            f"Load {value} per CPU over {config['window']} min "
            f"({load1:.2f} {load5:.2f} {load15:.2f} on {cpus} CPUs)",
            {
                "load1": round(load1, 2),
                "load5": round(load5, 2),
                "load15": round(load15, 2),
                "per_cpu": value,
                "window": config["window"],
                "cpu_count": cpus,
            },
        )
