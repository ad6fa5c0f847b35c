"""The process checker against this test's own process and a name nothing runs under."""

from __future__ import annotations

import os
from typing import Any

import psutil
import pytest

from apps.checkers.checkers import CheckStatus, get_checker

OWN_NAME = psutil.Process().name()
MISSING = "no-such-process-7f3a"


def test_the_test_process_itself_is_found_running() -> None:
    result = get_checker("process").check(names=[OWN_NAME])
    assert result.status == CheckStatus.OK, result.message
    assert result.metrics["processes"][OWN_NAME]["count"] >= 1
    assert result.metrics["missing"] == []


def test_a_process_matches_by_the_program_in_its_command_line() -> None:
    program = os.path.basename(psutil.Process().cmdline()[0])
    result = get_checker("process").check(names=[program])
    assert result.status == CheckStatus.OK


def test_a_missing_process_is_critical() -> None:
    result = get_checker("process").check(names=[MISSING])
    assert result.status == CheckStatus.CRITICAL
    assert result.message == f"Not running: {MISSING}"


def test_one_missing_among_running_processes_is_critical_and_named() -> None:
    result = get_checker("process").check(names=f"{OWN_NAME},{MISSING}")
    assert result.status == CheckStatus.CRITICAL
    assert result.metrics["missing"] == [MISSING]
    assert result.metrics["processes"][OWN_NAME]["count"] >= 1


def test_no_configured_names_is_unknown_rather_than_a_false_ok() -> None:
    result = get_checker("process").check()
    assert result.status == CheckStatus.UNKNOWN
    assert "No process names configured" in result.message


def test_an_exception_while_listing_processes_makes_the_check_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("/proc unavailable")

    monkeypatch.setattr(psutil, "process_iter", explode)
    result = get_checker("process").check(names=[OWN_NAME])
    assert result.status == CheckStatus.UNKNOWN
    assert result.error == "RuntimeError: /proc unavailable"
