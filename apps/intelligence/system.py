"""Live measurements with psutil, for system scans and top-process lists."""

from __future__ import annotations

import threading
import time
from collections import deque
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


# Per-process CPU readings of earlier calls: (monotonic time, {(pid, create_time): cpu s}).
# A process's CPU share is the change of its CPU time between two readings; keeping the
# readings of earlier calls lets a later call compare with one instead of sleeping for an
# interval: under load (analyses back to back) nothing on the node path waits.
_READINGS: deque[tuple[float, dict[tuple[int, float], float]]] = deque(maxlen=32)
_READINGS_LOCK = threading.Lock()
_MAX_BASE_AGE = 30.0  # seconds: an older reading says nothing about "now"


def _cpu_base(now: float, min_age: float) -> tuple[float, dict[tuple[int, float], float]] | None:
    """The newest earlier reading at least ``min_age`` and at most ``_MAX_BASE_AGE`` old."""
    with _READINGS_LOCK:
        for at, cpu in reversed(_READINGS):
            age = now - at
            if age > _MAX_BASE_AGE:
                return None
            if age >= min_age:
                return at, cpu
    return None


def _remember(at: float, cpu: dict[tuple[int, float], float]) -> None:
    # Readings are of the whole host, so a forked pool child may use its parent's as well.
    with _READINGS_LOCK:
        _READINGS.append((at, cpu))


def _snapshot() -> tuple[list[Any], dict[tuple[int, float], float], float]:
    procs = list(
        psutil.process_iter(
            ["pid", "name", "username", "memory_percent", "cpu_times", "create_time"]
        )
    )
    now = time.monotonic()
    cpu = {}
    for proc in procs:
        times = proc.info.get("cpu_times")
        if times is not None:
            cpu[(proc.info["pid"], proc.info.get("create_time") or 0.0)] = times.user + times.system
    return procs, cpu, now


# Listing every process costs milliseconds of CPU (9 ms for 80 processes here, more on a
# busy host); a storm analyses many alerts a second. A list this young is answered again.
LIST_TTL = 5.0
_LISTS: dict[tuple[str, int], tuple[float, list[dict[str, Any]]]] = {}
# One thread of a process lists at a time. On a thread-pool worker every analysis found the
# list expired at the same moment and all of them listed the processes at once: hundreds of
# small /proc reads each, every one a wait for the GIL behind the others.
_LISTING = threading.Lock()


def top_processes(sort_by: str, limit: int, sample_seconds: float = 0.2) -> list[dict[str, Any]]:
    """The ``limit`` processes using the most ``cpu_percent`` or ``memory_percent``.

    ``cpu_percent`` (of one CPU, as psutil's) is measured over at least ``sample_seconds``,
    against a reading an earlier call kept when there is one (at most 30 s old); only
    without one does this call wait ``sample_seconds`` for a second reading. A list made
    less than ``LIST_TTL`` seconds ago in this process is returned again (copied). While one
    thread makes a new list, the others get the previous one (at most ``2 * LIST_TTL`` old)
    or, when there is none, wait for the new one.
    """
    key = (sort_by, limit)
    cached = _fresh(key, LIST_TTL)
    if cached is not None:
        return cached
    if not _LISTING.acquire(blocking=False):
        stale = _fresh(key, 2 * LIST_TTL)
        if stale is not None:
            return stale
        _LISTING.acquire()
    try:
        cached = _fresh(key, LIST_TTL)  # another thread may have listed meanwhile
        if cached is not None:
            return cached
        rows = _measure(sort_by, limit, sample_seconds)
        with _READINGS_LOCK:
            _LISTS[key] = (time.monotonic(), rows)
        return [dict(row) for row in rows]
    finally:
        _LISTING.release()


def _fresh(key: tuple[str, int], ttl: float) -> list[dict[str, Any]] | None:
    """A copy of the list kept for ``key`` if it is younger than ``ttl`` seconds."""
    with _READINGS_LOCK:
        cached = _LISTS.get(key)
    if cached is None or time.monotonic() - cached[0] >= ttl:
        return None
    return [dict(row) for row in cached[1]]


def _measure(sort_by: str, limit: int, sample_seconds: float) -> list[dict[str, Any]]:
    procs, cpu, now = _snapshot()
    if sort_by == "cpu_percent":
        base = _cpu_base(now, sample_seconds)
        if base is None:
            _remember(now, cpu)
            time.sleep(sample_seconds)
            procs, cpu, now = _snapshot()
            base = _cpu_base(now, sample_seconds) or (now - max(sample_seconds, 1e-3), cpu)
        _remember(now, cpu)
        base_at, base_cpu = base
        elapsed = max(now - base_at, 1e-3)
    rows = []
    for proc in procs:
        info = proc.info
        row = {
            "pid": info["pid"],
            "name": info["name"],
            "username": info.get("username"),
            "memory_percent": round(info.get("memory_percent") or 0.0, 2),
        }
        if sort_by == "cpu_percent":
            key = (info["pid"], info.get("create_time") or 0.0)
            used = cpu.get(key, 0.0) - base_cpu.get(key, cpu.get(key, 0.0))
            row["cpu_percent"] = round(max(0.0, 100.0 * used / elapsed), 1)
        rows.append(row)
    rows.sort(key=lambda r: r.get(sort_by) or 0.0, reverse=True)
    return rows[:limit]


def sort_processes(processes: list[Any], sort_by: str, limit: int) -> list[dict[str, Any]]:
    """Measured process rows (from a context node) sorted by ``sort_by``."""
    rows = [p for p in processes if isinstance(p, dict)]
    rows.sort(key=lambda r: r.get(sort_by) or 0.0, reverse=True)
    return rows[:limit]
