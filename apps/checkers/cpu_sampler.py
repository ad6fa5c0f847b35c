"""CPU utilisation without sleeping on the node path.

``psutil.cpu_percent(interval=0.1)`` blocks for its interval: in a worker that runs a context
node per alert that is most of the node's time, spent waiting. Instead a daemon thread per
process reads the CPU times once a second (reading them costs microseconds, no sleep), and a
reader gets the utilisation between a reading about ``window`` seconds old and now. Only the
very first read in a process waits, once, for a short first interval.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any

import psutil

_PERIOD = 1.0
_KEEP = 12  # readings: the longest window is about this many seconds
_FIRST_INTERVAL = 0.1


def _busy_and_total(times: Any) -> tuple[float, float]:
    # psutil's own accounting (psutil._cpu_busy_time/_cpu_tot_time): guest time is already in
    # user/nice on Linux, and iowait is idle time.
    total = sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)
    return total - times.idle - getattr(times, "iowait", 0), total


def _percent(before: Any, after: Any) -> float:
    busy_before, total_before = _busy_and_total(before)
    busy_after, total_after = _busy_and_total(after)
    total = total_after - total_before
    if total <= 0:
        return 0.0
    return round(min(100.0, max(0.0, 100.0 * (busy_after - busy_before) / total)), 1)


class CpuSampler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readings: deque[tuple[float, list[Any]]] = deque(maxlen=_KEEP)
        self._pid = 0

    def per_cpu(self, window: float = 1.0) -> list[float]:
        """Utilisation of each CPU, in percent, over about the last ``window`` seconds."""
        now = time.monotonic()
        current = psutil.cpu_times(percpu=True)
        with self._lock:
            self._ensure_thread()
            old = [r for r in self._readings if now - r[0] >= min(window, _FIRST_INTERVAL)]
            base = next((r for r in reversed(old) if now - r[0] >= window), old[0] if old else None)
        if base is None:
            # The first read in this process: one short interval, then never again.
            before = current
            time.sleep(_FIRST_INTERVAL)
            current = psutil.cpu_times(percpu=True)
            self._remember(now, before)
        else:
            before = base[1]
        return [_percent(b, a) for b, a in zip(before, current, strict=False)]

    def percent(self, window: float = 1.0) -> float:
        per_cpu = self.per_cpu(window)
        return round(sum(per_cpu) / len(per_cpu), 1) if per_cpu else 0.0

    def _remember(self, at: float, times: list[Any]) -> None:
        with self._lock:
            self._readings.append((at, times))

    def _ensure_thread(self) -> None:
        # Threads do not survive fork: a prefork pool child starts its own.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._readings.clear()
            threading.Thread(target=self._loop, name="cpu-sampler", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._remember(time.monotonic(), psutil.cpu_times(percpu=True))
            time.sleep(_PERIOD)


sampler = CpuSampler()
