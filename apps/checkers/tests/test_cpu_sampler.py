"""CPU utilisation read without sleeping: only the first read in a process waits."""

from __future__ import annotations

import time
from collections import namedtuple

from apps.checkers.cpu_sampler import CpuSampler, _percent

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_percent_is_busy_time_over_total_time_as_psutil_counts_it():
    before = Times(100, 0, 50, 800, 50, 0, 0, 0, 10, 0)
    after = Times(160, 0, 70, 890, 60, 0, 0, 0, 15, 0)
    # Guest time is already inside user time, iowait is idle: busy 150 -> 230, total
    # 1000 -> 1180 (guest subtracted).
    assert _percent(before, after) == round(100 * 80 / 180, 1)


def test_a_read_after_the_first_does_not_sleep():
    sampler = CpuSampler()
    first_started = time.perf_counter()
    first = sampler.per_cpu(window=0.5)
    first_took = time.perf_counter() - first_started
    time.sleep(0.2)
    reads = []
    for _ in range(20):
        started = time.perf_counter()
        per_cpu = sampler.per_cpu(window=0.5)
        reads.append(time.perf_counter() - started)
    assert first_took >= 0.09  # the one short interval, once
    assert max(reads) < 0.05  # every later read returns at once
    assert len(per_cpu) == len(first) and all(0.0 <= p <= 100.0 for p in per_cpu)


def test_a_busy_cpu_reads_as_busy():
    sampler = CpuSampler()
    sampler.per_cpu(window=0.3)
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        pass  # keep one CPU busy
    assert max(sampler.per_cpu(window=0.5)) > 50.0
