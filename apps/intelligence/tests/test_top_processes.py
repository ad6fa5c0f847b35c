"""Top processes by CPU, measured against an earlier call's reading instead of sleeping."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from apps.intelligence import system


@pytest.fixture
def busy_process():
    """A process that spins on one CPU for as long as the test runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def patch_sleep(monkeypatch, sleep) -> None:
    """Replace the sleep top_processes calls (only its: the module's view of ``time``)."""
    monkeypatch.setattr(system, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))


@pytest.fixture(autouse=True)
def fresh_readings(monkeypatch):
    monkeypatch.setattr(system, "LIST_TTL", 0.0)  # each call measures (but the last test)
    system._READINGS.clear()
    system._LISTS.clear()
    yield
    system._READINGS.clear()
    system._LISTS.clear()


def test_a_later_call_compares_with_an_earlier_reading_and_does_not_sleep(
    busy_process, monkeypatch
) -> None:
    first = system.top_processes("cpu_percent", 500, sample_seconds=0.2)  # waits once
    assert first, "no process measured"
    time.sleep(0.3)  # the busy process runs meanwhile

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"top_processes slept {seconds} s with a reading to compare with")

    patch_sleep(monkeypatch, no_sleep)
    rows = system.top_processes("cpu_percent", 500, sample_seconds=0.2)

    busy = next(r for r in rows if r["pid"] == busy_process.pid)
    assert busy["cpu_percent"] > 40.0, busy  # it spun on one CPU the whole time
    assert rows == sorted(rows, key=lambda r: r["cpu_percent"], reverse=True)


def test_without_a_recent_reading_it_samples_over_the_interval(busy_process) -> None:
    rows = system.top_processes("cpu_percent", 500, sample_seconds=0.3)

    busy = next(r for r in rows if r["pid"] == busy_process.pid)
    assert busy["cpu_percent"] > 40.0, busy


def test_a_reading_older_than_the_limit_is_not_used(busy_process, monkeypatch) -> None:
    system.top_processes("cpu_percent", 5, sample_seconds=0.05)
    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(system, "_MAX_BASE_AGE", 0.0)
    patch_sleep(monkeypatch, lambda s: (slept.append(s), real_sleep(s)))

    system.top_processes("cpu_percent", 5, sample_seconds=0.05)

    assert slept == [0.05]


def test_by_memory_needs_no_cpu_reading(monkeypatch) -> None:
    patch_sleep(monkeypatch, lambda s: pytest.fail("slept for memory"))
    rows = system.top_processes("memory_percent", 3)
    assert 0 < len(rows) <= 3
    assert rows == sorted(rows, key=lambda r: r["memory_percent"], reverse=True)
    assert all("cpu_percent" not in r for r in rows)


def test_a_list_younger_than_its_ttl_is_answered_again_without_measuring(monkeypatch) -> None:
    monkeypatch.setattr(system, "LIST_TTL", 60.0)
    first = system.top_processes("memory_percent", 3)
    monkeypatch.setattr(system, "_snapshot", lambda: pytest.fail("listed the processes again"))

    again = system.top_processes("memory_percent", 3)
    again[0]["name"] = "changed by a caller"

    assert again[0]["pid"] == first[0]["pid"]
    assert system.top_processes("memory_percent", 3)[0]["name"] == first[0]["name"]


def _held_listing(monkeypatch):
    """Make ``_snapshot`` block until released; returns (entered, release, calls)."""
    import threading

    entered, release, calls = threading.Event(), threading.Event(), []
    real = system._snapshot

    def slow_snapshot():
        calls.append(threading.get_ident())
        entered.set()
        assert release.wait(10), "the test never released the listing"
        return real()

    monkeypatch.setattr(system, "_snapshot", slow_snapshot)
    return entered, release, calls


def test_while_one_thread_lists_another_gets_the_previous_list_at_once(monkeypatch) -> None:
    import threading

    monkeypatch.setattr(system, "LIST_TTL", 1.0)
    previous = [{"pid": 1, "name": "previous", "username": None, "memory_percent": 1.0}]
    # Expired (older than the TTL) but within twice the TTL.
    system._LISTS[("memory_percent", 3)] = (time.monotonic() - 1.5, previous)
    entered, release, calls = _held_listing(monkeypatch)
    results: dict[str, list] = {}
    lister = threading.Thread(
        target=lambda: results.setdefault("lister", system.top_processes("memory_percent", 3))
    )
    lister.start()
    try:
        assert entered.wait(10)
        # The first thread is inside the listing: this one must not list, nor wait for it.
        assert system.top_processes("memory_percent", 3) == previous
        assert len(calls) == 1
    finally:
        release.set()
        lister.join(10)
    assert results["lister"] and results["lister"] != previous
    assert len(calls) == 1


def test_without_a_previous_list_concurrent_callers_wait_for_one_listing(monkeypatch) -> None:
    import threading

    monkeypatch.setattr(system, "LIST_TTL", 60.0)
    entered, release, calls = _held_listing(monkeypatch)
    results: list[list] = []
    threads = [
        threading.Thread(target=lambda: results.append(system.top_processes("memory_percent", 3)))
        for _ in range(4)
    ]
    threads[0].start()
    assert entered.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)  # the others reach the lock and wait behind the first
    assert len(results) == 0
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4
    assert len(calls) == 1, f"the processes were listed {len(calls)} times"
    assert all(rows == results[0] for rows in results)
