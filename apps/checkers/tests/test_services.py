from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from apps.checkers.checkers import CHECKER_REGISTRY, CheckerConfigError
from apps.checkers.models import CheckRun
from apps.checkers.services import resolve_checker_names, run_checks, skipped_checkers

pytestmark = pytest.mark.django_db


def test_run_checks_stores_one_check_run_per_checker_with_trace_and_run_ids(
    tmp_path: Path,
) -> None:
    results = run_checks(
        ["memory", "disk"],
        {"disk": {"paths": [str(tmp_path)], "critical": 0}},
        trace_id="trace-1",
        run_id="run-1",
    )
    assert [r["checker"] for r in results] == ["memory", "disk"]
    assert results[1]["status"] == "critical"
    rows = {row.checker_name: row for row in CheckRun.objects.all()}
    assert set(rows) == {"memory", "disk"}
    disk = rows["disk"]
    assert (disk.trace_id, disk.run_id, disk.status) == ("trace-1", "run-1", "critical")
    assert disk.hostname == results[1]["hostname"]
    assert disk.metrics == results[1]["metrics"]
    assert results[1]["id"] == disk.pk
    assert results[1]["created_at"] == disk.created_at.isoformat()


def test_run_checks_without_a_trace_id_makes_one_shared_by_all_results() -> None:
    results = run_checks(["memory", "swap"])
    assert results[0]["trace_id"] == results[1]["trace_id"]
    assert len(results[0]["trace_id"]) == 32
    assert results[0]["run_id"] is None


def test_an_unknown_result_is_stored_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no /proc/meminfo")

    monkeypatch.setattr(psutil, "virtual_memory", explode)
    [result] = run_checks(["memory"])
    row = CheckRun.objects.get()
    assert (result["status"], row.status) == ("unknown", "unknown")
    assert row.error == "RuntimeError: no /proc/meminfo"


def test_no_names_means_every_checker_the_operator_did_not_skip(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["cpu", "disk", "load", "inodes", "network", "process"]
    results = run_checks(None)
    assert [r["checker"] for r in results] == ["memory", "swap"]


def test_checkers_skip_applies_to_named_checkers_too(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["swap"]
    assert resolve_checker_names(["memory", "swap"]) == (["memory"], ["swap"])
    assert [r["checker"] for r in run_checks(["memory", "swap"])] == ["memory"]


def test_checkers_skip_all_runs_nothing(settings: Any) -> None:
    settings.CHECKERS_SKIP_ALL = True
    assert skipped_checkers() == set(CHECKER_REGISTRY)
    assert run_checks(["memory"]) == []
    assert CheckRun.objects.count() == 0


def test_options_for_a_skipped_checker_are_not_an_error(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["disk"]
    results = run_checks(["memory", "disk"], {"disk": {"paths": ["/"]}})
    assert [r["checker"] for r in results] == ["memory"]


def test_an_unknown_checker_name_raises_listing_the_available_ones() -> None:
    with pytest.raises(CheckerConfigError) as exc:
        run_checks(["memory", "gpu"])
    assert str(exc.value) == (
        "Unknown checker(s): gpu. "
        "Available: cpu, memory, disk, load, swap, inodes, network, process"
    )


def test_bad_options_raise_before_any_check_runs() -> None:
    with pytest.raises(CheckerConfigError) as exc:
        run_checks(["memory", "cpu"], {"cpu": {"samples": 0}, "memory": {"warn": 1}})
    assert len(exc.value.errors) == 2
    assert CheckRun.objects.count() == 0


def test_options_for_a_checker_that_is_not_run_are_rejected() -> None:
    with pytest.raises(CheckerConfigError, match="not being run: disk"):
        run_checks(["memory"], {"disk": {"paths": ["/"]}})
