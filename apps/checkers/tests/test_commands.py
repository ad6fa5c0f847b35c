from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.checkers.models import CheckRun

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[int, str]:
    """(exit code, stdout) of a management command."""
    out = StringIO()
    try:
        call_command(command, *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_check_health_lists_the_checkers_numbered_as_the_wizard_shows_them() -> None:
    code, out = run("check_health", "--list")
    lines = [line for line in out.splitlines() if not line.startswith(" ")]
    assert code == 0
    assert lines[0].startswith("1. cpu: ")
    assert lines[6].startswith("7. network: ")
    assert lines[7].startswith("8. process: ")
    assert "     paths=/  paths (mount points) to check" in out
    assert CheckRun.objects.count() == 0


def test_check_health_list_marks_skipped_checkers(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["swap"]
    _, out = run("check_health", "--list")
    assert "5. swap [skipped]: " in out


def test_check_health_prints_one_line_per_check_and_a_summary() -> None:
    code, out = run("check_health", "memory", "swap")
    assert code == 0
    assert "  [OK]       memory   Memory " in out
    assert out.rstrip().endswith("Summary: 2 check(s): 2 ok, 0 warning, 0 critical, 0 unknown")
    assert CheckRun.objects.count() == 2


def test_check_health_json_holds_the_results_summary_and_trace_id() -> None:
    code, out = run("check_health", "memory", "--json", "--trace-id", "t-42")
    data = json.loads(out)
    assert code == 0
    assert data["trace_id"] == "t-42"
    assert data["status"] == "ok"
    assert data["summary"] == {"ok": 1, "warning": 0, "critical": 0, "unknown": 0}
    assert data["results"][0]["checker"] == "memory"
    assert CheckRun.objects.get().trace_id == "t-42"


def test_check_health_exits_2_on_critical_with_fail_on_critical() -> None:
    code, out = run("check_health", "memory", "--critical", "0", "--fail-on-critical")
    assert code == 2
    assert "[CRITICAL] memory" in out


def test_check_health_exits_1_on_warning_with_fail_on_warning() -> None:
    code, _ = run(
        "check_health", "memory", "--warning", "0", "--critical", "1000", "--fail-on-warning"
    )
    assert code == 1


def test_fail_on_warning_also_fails_critical_with_exit_2() -> None:
    code, _ = run("check_health", "memory", "--critical", "0", "--fail-on-warning")
    assert code == 2


def test_fail_on_critical_ignores_warnings() -> None:
    code, _ = run(
        "check_health", "memory", "--warning", "0", "--critical", "1000", "--fail-on-critical"
    )
    assert code == 0


def test_an_unknown_result_fails_like_a_warning() -> None:
    code, _ = run("check_health", "process", "--fail-on-warning")  # no names configured
    assert code == 1


def test_a_critical_result_exits_2_without_any_flag() -> None:
    code, out = run("check_health", "memory", "--critical", "0")
    assert code == 2
    assert "[CRITICAL]" in out


def test_no_fail_on_critical_reports_a_critical_result_and_exits_0() -> None:
    code, out = run("check_health", "memory", "--critical", "0", "--no-fail-on-critical")
    assert code == 0
    assert "[CRITICAL]" in out


def test_run_check_also_exits_2_on_critical_by_default() -> None:
    code, _ = run("run_check", "memory", "--critical", "0")
    assert code == 2
    code, _ = run("run_check", "memory", "--critical", "0", "--no-fail-on-critical")
    assert code == 0


def test_fail_on_warning_with_no_fail_on_critical_is_refused() -> None:
    with pytest.raises(CommandError, match="contradict"):
        call_command("check_health", "memory", "--fail-on-warning", "--no-fail-on-critical")


def test_the_network_check_contacts_no_host_unless_hosts_are_configured() -> None:
    code, out = run("check_health", "network", "--json")
    result = json.loads(out)["results"][0]
    assert result["status"] == "unknown"
    assert result["message"] == "No hosts configured (option hosts)"
    assert result["metrics"] == {}
    assert code == 0  # unknown is not critical; --fail-on-warning would make it 1


def test_check_health_rejects_unknown_checker_names_listing_the_available_ones() -> None:
    with pytest.raises(CommandError, match="Unknown checker\\(s\\): gpu, fan. Available: cpu"):
        run("check_health", "memory", "gpu", "fan")


def test_global_thresholds_apply_only_to_percent_based_checkers() -> None:
    code, out = run(
        "check_health",
        "memory",
        "load",
        "--critical",
        "0",
        "--option",
        "load.warning=1000",
        "--option",
        "load.critical=1000",
        "--json",
    )
    statuses = {r["checker"]: r["status"] for r in json.loads(out)["results"]}
    assert statuses == {"memory": "critical", "load": "ok"}


def test_global_thresholds_with_no_percent_based_checker_are_an_error() -> None:
    with pytest.raises(CommandError, match="--warning applies to percent-based checkers"):
        run("check_health", "load", "--warning", "5")


def test_the_wizard_answers_configure_disk_network_and_process(
    tmp_path: Path, tcp_server: int
) -> None:
    own = psutil.Process().name()
    code, out = run(
        "check_health",
        "disk",
        "network",
        "process",
        "--disk-paths",
        f"/,{tmp_path}",
        "--network-hosts",
        f"127.0.0.1:{tcp_server}",
        "--process-names",
        own,
        "--json",
        "--fail-on-critical",
    )
    results = {r["checker"]: r for r in json.loads(out)["results"]}
    assert code == 0
    assert set(results["disk"]["metrics"]["paths"]) == {"/", str(tmp_path)}
    assert results["network"]["status"] == "ok"
    assert results["process"]["status"] == "ok"


def test_a_wizard_flag_for_a_checker_not_being_run_is_an_error() -> None:
    with pytest.raises(CommandError, match="--disk-paths given but 'disk' is not run"):
        run("check_health", "memory", "--disk-paths", "/")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("cpu.samples=abc", "cpu: option 'samples' must be a number"),
        ("cpu.sample=3", "cpu: unknown option 'sample'"),
        ("cpu=3", "expected CHECKER.KEY=VALUE"),
        ("disk.paths=/", "checker 'disk' is not being run"),
    ],
)
def test_check_health_bad_option_flags_are_clear_errors(option: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("check_health", "cpu", "--option", option)


def test_check_health_reports_checkers_skipped_by_settings(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["swap"]
    code, out = run("check_health", "memory", "swap")
    assert code == 0
    assert "Skipped by CHECKERS_SKIP/CHECKERS_SKIP_ALL: swap" in out
    assert list(CheckRun.objects.values_list("checker_name", flat=True)) == ["memory"]


def test_run_check_passes_repeated_paths_to_the_disk_checker(tmp_path: Path) -> None:
    code, out = run("run_check", "disk", "--path", "/", "--path", str(tmp_path), "--json")
    [result] = json.loads(out)["results"]
    assert code == 0
    assert set(result["metrics"]["paths"]) == {"/", str(tmp_path)}
    assert CheckRun.objects.get().checker_name == "disk"


def test_run_check_closed_port_exits_2_with_fail_on_critical(closed_port: int) -> None:
    host = f"127.0.0.1:{closed_port}"
    code, out = run("run_check", "network", "--host", host, "--fail-on-critical")
    assert code == 2
    assert "[CRITICAL] network  1 of 1 host(s) unreachable" in out


def test_run_check_cpu_takes_samples_interval_and_thresholds() -> None:
    code, out = run(
        "run_check",
        "cpu",
        "--samples",
        "2",
        "--interval",
        "0.05",
        "--critical",
        "0",
        "--json",
        "--fail-on-critical",
    )
    [result] = json.loads(out)["results"]
    assert code == 2
    assert len(result["metrics"]["samples"]) == 2


def test_run_check_takes_any_option_as_key_value() -> None:
    code, out = run("run_check", "load", "--option", "window=15", "--json")
    assert json.loads(out)["results"][0]["metrics"]["window"] == 15


def test_run_check_rejects_an_option_the_checker_does_not_take() -> None:
    with pytest.raises(CommandError, match="cpu does not take --path \\(its options: warning"):
        run("run_check", "cpu", "--path", "/")


def test_run_check_rejects_an_unknown_checker() -> None:
    with pytest.raises(CommandError, match="Unknown checker: gpu. Available: cpu, memory"):
        run("run_check", "gpu")


def test_run_check_rejects_a_bad_threshold() -> None:
    with pytest.raises(CommandError, match="warning threshold \\(90\\) must not exceed"):
        run("run_check", "disk", "--warning", "90", "--critical", "10")
