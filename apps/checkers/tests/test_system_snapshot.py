"""The context node's host snapshot (``apps.checkers.system``): real readings of this host."""

from __future__ import annotations

import psutil
import pytest

from apps.checkers import system


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch):
    monkeypatch.setattr(system, "_cpu_counts", None)


def test_the_snapshot_reports_this_hosts_cpu_counts_memory_and_disk() -> None:
    snapshot = system.collect_system(["cpu", "memory", "disk"])

    assert snapshot["cpu"]["count"] == psutil.cpu_count(logical=False)
    assert snapshot["cpu"]["count_logical"] == psutil.cpu_count(logical=True)
    assert len(snapshot["cpu"]["per_cpu"]) == psutil.cpu_count()
    assert snapshot["memory"]["total_gb"] > 0
    assert snapshot["disk"]["path"] == "/"


def test_cpu_counts_are_not_counted_again_within_their_ttl(monkeypatch) -> None:
    first = system.collect_system(["cpu"])["cpu"]
    monkeypatch.setattr(
        system.psutil, "cpu_count", lambda logical=True: pytest.fail("counted the CPUs again")
    )

    again = system.collect_system(["cpu"])["cpu"]

    assert (again["count"], again["count_logical"]) == (first["count"], first["count_logical"])


def test_cpu_counts_are_counted_again_after_their_ttl(monkeypatch) -> None:
    system.collect_system(["cpu"])
    monkeypatch.setattr(system, "CPU_COUNT_TTL", 0.0)
    monkeypatch.setattr(system.psutil, "cpu_count", lambda logical=True: 64 if logical else 32)

    cpu = system.collect_system(["cpu"])["cpu"]

    assert (cpu["count"], cpu["count_logical"]) == (32, 64)
