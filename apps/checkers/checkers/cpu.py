"""CPU utilisation, averaged over ``samples`` readings ``interval`` seconds apart."""

from __future__ import annotations

from typing import Any

import psutil

from apps.checkers.checkers.base import BaseChecker, Measurement, grade
from apps.checkers.checkers.options import Number, WholeNumber, option, thresholds


class CpuChecker(BaseChecker):
    name = "cpu"
    description = "CPU utilisation in percent, averaged over several samples"

    class Options(thresholds(80.0, 95.0, "percent")):  # type: ignore[misc]
        samples: WholeNumber = option(1, "number of readings to average", minimum=1, maximum=60)
        interval: Number = option(
            0.5, "seconds each reading measures over", minimum=0.05, maximum=10
        )

    def measure(self, config: dict[str, Any]) -> Measurement:
        # One instantaneous reading is noise; an average over a short window is what an
        # operator means by "the CPU is busy".
        readings = [
            psutil.cpu_percent(interval=config["interval"], percpu=True)
            for _ in range(config["samples"])
        ]
        per_sample = [sum(r) / len(r) for r in readings]
        percent = round(sum(per_sample) / len(per_sample), 1)
        status = grade(percent, config["warning"], config["critical"])
        return Measurement(
            status,
            f"CPU usage {percent}% (warning {config['warning']:g}%, "
            f"critical {config['critical']:g}%)",
            {
                "percent": percent,
                "per_cpu": readings[-1],
                "samples": [round(p, 1) for p in per_sample],
                "cpu_count": psutil.cpu_count(),
            },
        )
