"""A snapshot of the host for pipeline context: cpu, memory, disk and top processes.

Unlike checkers this grades nothing; it gives later nodes (intelligence, notify templates)
the raw figures, in the shape the seed's ``context`` node produced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psutil

from apps.checkers.checkers.units import gib
from apps.checkers.cpu_sampler import sampler

logger = logging.getLogger(__name__)

SYSTEM_METRICS = ("cpu", "memory", "disk", "processes")
DEFAULT_INCLUDE = ["cpu", "memory", "disk"]


# Counting physical cores globs /sys and reads a file per CPU; on a thread-pool worker every
# small read is a wait for the GIL. The counts change only when CPUs are hot-plugged.
CPU_COUNT_TTL = 60.0
_cpu_counts: tuple[float, int | None, int | None] | None = None


def cpu_counts() -> tuple[int | None, int | None]:
    """(physical cores, logical CPUs) as psutil counts them, re-counted every minute."""
    global _cpu_counts
    now = time.monotonic()
    if _cpu_counts is None or now - _cpu_counts[0] >= CPU_COUNT_TTL:
        _cpu_counts = (now, psutil.cpu_count(logical=False), psutil.cpu_count(logical=True))
    return _cpu_counts[1], _cpu_counts[2]


def _cpu(_: dict[str, Any]) -> dict[str, Any]:
    # Over the last second or so, from the sampler's readings: the node does not sleep.
    per_cpu = sampler.per_cpu(window=1.0)
    physical, logical = cpu_counts()
    return {
        "percent": round(sum(per_cpu) / len(per_cpu), 1),
        "per_cpu": per_cpu,
        "count": physical,
        "count_logical": logical,
    }


def _memory(_: dict[str, Any]) -> dict[str, Any]:
    mem = psutil.virtual_memory()
    return {
        "total_gb": gib(mem.total),
        "available_gb": gib(mem.available),
        "used_gb": gib(mem.used),
        "percent": mem.percent,
    }


def _disk(options: dict[str, Any]) -> dict[str, Any]:
    path = options.get("disk_path", "/")
    usage = psutil.disk_usage(path)
    return {
        "path": path,
        "total_gb": gib(usage.total),
        "used_gb": gib(usage.used),
        "free_gb": gib(usage.free),
        "percent": usage.percent,
    }


def _processes(options: dict[str, Any]) -> list[dict[str, Any]]:
    top = options.get("top_processes", 5)
    procs = [
        {
            "pid": p.info["pid"],
            "name": p.info["name"],
            "cpu_percent": p.info["cpu_percent"],
            "memory_percent": round(p.info["memory_percent"] or 0.0, 2),
        }
        for p in psutil.process_iter(["pid", "name", "cpu_percent", "memory_percent"])
    ]
    # By memory: cpu_percent of a first sample is 0.0 for every process, memory is real.
    procs.sort(key=lambda p: p["memory_percent"], reverse=True)
    return procs[:top]


_COLLECTORS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "cpu": _cpu,
    "memory": _memory,
    "disk": _disk,
    "processes": _processes,
}


def collect_system(include: Sequence[str], **options: Any) -> dict[str, Any]:
    """``{item: figures}`` for each of ``include``.

    Options: ``disk_path`` (default ``/``), ``top_processes`` (default 5). An item that
    cannot be read becomes ``{"error": "..."}`` so the others are still reported.
    """
    system: dict[str, Any] = {}
    for item in include:
        try:
            system[item] = _COLLECTORS[item](options)
        except (OSError, psutil.Error) as exc:
            logger.warning("cannot collect %s: %s", item, exc)
            system[item] = {"error": f"{type(exc).__name__}: {exc}"}
    return system
