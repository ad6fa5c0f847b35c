"""cpu, memory, disk, load, swap and inodes against this machine's real readings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil
import pytest

from apps.checkers.checkers import CheckStatus, get_checker

FAST = {"cpu": {"interval": 0.05}}
GRADED = ["cpu", "memory", "disk", "load", "inodes"]


def _check(name: str, **options: Any):
    return get_checker(name).check(**FAST.get(name, {}), **options)


@pytest.mark.parametrize("name", GRADED)
def test_a_critical_threshold_of_zero_makes_the_check_critical(name: str) -> None:
    result = _check(name, warning=0, critical=0)
    assert result.status == CheckStatus.CRITICAL, result.message


@pytest.mark.parametrize("name", GRADED)
def test_a_zero_warning_under_an_unreachable_critical_makes_the_check_warn(name: str) -> None:
    result = _check(name, warning=0, critical=1_000_000)
    assert result.status == CheckStatus.WARNING, result.message


@pytest.mark.parametrize("name", GRADED)
def test_thresholds_above_any_possible_reading_make_the_check_ok(name: str) -> None:
    result = _check(name, warning=1_000_000, critical=1_000_000)
    assert result.status == CheckStatus.OK, result.message
    assert result.error is None


def test_cpu_averages_the_requested_number_of_samples() -> None:
    result = _check("cpu", samples=3)
    assert len(result.metrics["samples"]) == 3
    assert 0 <= result.metrics["percent"] <= 100
    assert len(result.metrics["per_cpu"]) == psutil.cpu_count()


def test_memory_reports_the_percentage_psutil_sees() -> None:
    result = _check("memory")
    assert 0 < result.metrics["percent"] < 100
    assert result.metrics["total_bytes"] == psutil.virtual_memory().total


def test_disk_reports_every_path_with_its_own_status(tmp_path: Path) -> None:
    result = _check("disk", paths=["/", str(tmp_path)])
    assert set(result.metrics["paths"]) == {"/", str(tmp_path)}
    assert result.metrics["paths"]["/"]["status"] == "ok"
    assert result.metrics["max_percent"] == max(
        p["percent"] for p in result.metrics["paths"].values()
    )


def test_a_missing_disk_path_is_unknown_without_hiding_the_other_paths(tmp_path: Path) -> None:
    missing = str(tmp_path / "not-mounted")
    result = _check("disk", paths=[missing, "/"], warning=0, critical=1_000_000)
    assert result.metrics["paths"][missing]["status"] == "unknown"
    assert "FileNotFoundError" in result.metrics["paths"][missing]["error"]
    assert result.metrics["paths"]["/"]["status"] == "warning"
    assert result.status == CheckStatus.WARNING  # a measured warning outranks unknown


def test_a_missing_disk_path_alone_is_unknown(tmp_path: Path) -> None:
    result = _check("disk", paths=[str(tmp_path / "nope")])
    assert result.status == CheckStatus.UNKNOWN
    assert "cannot read" in result.message


def test_inodes_report_used_and_total_per_path() -> None:
    result = _check("inodes", paths=["/"])
    st = os.statvfs("/")
    assert result.metrics["paths"]["/"]["inodes_total"] == st.f_files


def test_a_missing_inodes_path_is_unknown(tmp_path: Path) -> None:
    result = _check("inodes", paths=[str(tmp_path / "nope")])
    assert result.status == CheckStatus.UNKNOWN


def test_load_is_graded_per_cpu_over_the_chosen_window() -> None:
    result = _check("load", window=15)
    load15 = psutil.getloadavg()[2]
    assert result.metrics["window"] == 15
    assert result.metrics["per_cpu"] == pytest.approx(load15 / psutil.cpu_count(), abs=0.05)


def test_swap_is_graded_against_the_thresholds_and_no_swap_is_ok() -> None:
    # One test for both kinds of host, so neither case is ever skipped silently.
    if psutil.swap_memory().total == 0:
        result = _check("swap", warning=0, critical=0)
        assert result.status == CheckStatus.OK
        assert result.message == "No swap configured"
    else:
        assert _check("swap", warning=0, critical=0).status == CheckStatus.CRITICAL
        assert _check("swap", warning=101, critical=101).status == CheckStatus.OK


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("sensor unavailable")


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("cpu", (psutil, "cpu_percent")),
        ("memory", (psutil, "virtual_memory")),
        ("load", (psutil, "getloadavg")),
        ("swap", (psutil, "swap_memory")),
        ("disk", (psutil, "disk_usage")),
        ("inodes", (os, "statvfs")),
    ],
)
def test_an_exception_from_the_system_makes_the_check_unknown(
    name: str, target: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = get_checker(name)
    with monkeypatch.context() as patch:
        patch.setattr(*target, _raise)
        result = checker.check(**FAST.get(name, {}))
    assert result.status == CheckStatus.UNKNOWN
    assert result.error == "RuntimeError: sensor unavailable"
    assert result.checker == name
