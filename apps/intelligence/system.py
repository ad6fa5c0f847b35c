"""Live measurements with psutil, for system scans and top-process lists."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import psutil

from apps.checkers.cpu_sampler import sampler
from apps.intelligence.context import AnalysisContext


def with_live_system(
    context: AnalysisContext, incident: dict[str, Any] | None, config: dict[str, Any]
) -> tuple[AnalysisContext, bool]:
    """``context`` with this host's measurements when it is a bare system scan.

    Only when there is no incident: an incident is usually about another host, and the worker's
    own readings would mislead. Returns the context and whether it was measured live.
    """
    if incident is not None or not context.is_empty or not config.get("collect_live", True):
        return context, False
    paths = [str(p) for p in config.get("disk_paths") or ["/"]]
    return replace(context, system=collect_system(paths)), True


def collect_system(disk_paths: list[str], cpu_interval: float = 0.2) -> dict[str, Any]:
    """CPU, memory, swap and disk usage of this host, in the context node's ``system`` shape."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    disks: dict[str, Any] = {}
    for path in disk_paths:
        try:
            usage = psutil.disk_usage(path)
        except OSError as exc:
            # A missing mount is worth reporting, not a reason to lose the other readings.
            disks[path] = {"error": str(exc)}
            continue
        disks[path] = {"percent": usage.percent, "free_gb": round(usage.free / 1024**3, 2)}
    return {
        # Over about ``cpu_interval`` seconds up to now, without sleeping (see cpu_sampler).
        "cpu": {"percent": sampler.percent(window=cpu_interval), "count": psutil.cpu_count()},
        "memory": {"percent": memory.percent, "available_gb": round(memory.available / 1024**3, 2)},
        "swap": {"percent": swap.percent},
        "disk": disks,
    }


def top_processes(sort_by: str, limit: int, sample_seconds: float = 0.2) -> list[dict[str, Any]]:
    """The ``limit`` processes using the most ``cpu_percent`` or ``memory_percent``."""
    procs = list(psutil.process_iter(["pid", "name", "username", "memory_percent"]))
    if sort_by == "cpu_percent":
        # psutil's first cpu_percent() of a process is always 0.0: sample over an interval.
        for proc in procs:
            try:
                proc.cpu_percent(None)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(sample_seconds)
    rows = []
    for proc in procs:
        try:
            row = {
                "pid": proc.info["pid"],
                "name": proc.info["name"],
                "username": proc.info.get("username"),
                "memory_percent": round(proc.info.get("memory_percent") or 0.0, 2),
            }
            if sort_by == "cpu_percent":
                row["cpu_percent"] = proc.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        rows.append(row)
    rows.sort(key=lambda r: r.get(sort_by) or 0.0, reverse=True)
    return rows[:limit]


def sort_processes(processes: list[Any], sort_by: str, limit: int) -> list[dict[str, Any]]:
    """Measured process rows (from a context node) sorted by ``sort_by``."""
    rows = [p for p in processes if isinstance(p, dict)]
    rows.sort(key=lambda r: r.get(sort_by) or 0.0, reverse=True)
    return rows[:limit]
