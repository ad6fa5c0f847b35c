"""The ``context`` pipeline node, called the way the engine calls it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from apps.checkers.models import CheckRun
from apps.orchestration.nodes import NodeContext, get_node_handler
from apps.orchestration.nodes.context import ContextNodeHandler

pytestmark = pytest.mark.django_db


def execute(config: dict[str, Any]):
    ctx = NodeContext(trace_id="trace-ctx", run_id="run-ctx", node_id="gather")
    return get_node_handler("context").execute(ctx, {"id": "gather", **config})


def test_the_registry_serves_this_handler() -> None:
    handler = get_node_handler("context")
    assert isinstance(handler, ContextNodeHandler)
    assert handler.name == "context"
    assert handler.node_type.value == "context"


def test_with_no_config_it_snapshots_cpu_memory_and_disk() -> None:
    result = execute({})
    assert not result.has_errors
    assert result.node_id == "gather"
    assert result.node_type == "context"
    assert set(result.output["system"]) == {"cpu", "memory", "disk"}
    assert result.output["metrics_included"] == ["cpu", "memory", "disk"]
    assert result.output["checks"] == []
    assert result.output["checks_run"] == 0


def test_the_output_names_the_host_that_measured_it() -> None:
    assert execute({}).output["hostname"] == socket.gethostname()


def test_include_picks_the_system_figures() -> None:
    result = execute({"include": ["cpu", "memory"]})
    system = result.output["system"]
    assert set(system) == {"cpu", "memory"}
    assert 0 <= system["cpu"]["percent"] <= 100
    assert 0 < system["memory"]["percent"] < 100
    assert system["memory"]["total_gb"] > 0


def test_disk_path_chooses_the_filesystem_for_the_disk_figures(tmp_path: Path) -> None:
    result = execute({"include": ["disk"], "disk_path": str(tmp_path)})
    assert result.output["system"]["disk"]["path"] == str(tmp_path)
    assert 0 <= result.output["system"]["disk"]["percent"] <= 100


def test_an_unreadable_disk_path_is_reported_in_place_without_failing_the_node(
    tmp_path: Path,
) -> None:
    result = execute({"include": ["disk", "memory"], "disk_path": str(tmp_path / "nope")})
    assert not result.has_errors
    assert "FileNotFoundError" in result.output["system"]["disk"]["error"]
    assert "percent" in result.output["system"]["memory"]


def test_processes_lists_the_top_processes_by_memory() -> None:
    result = execute({"include": ["processes"], "top_processes": 3})
    procs = result.output["system"]["processes"]
    assert 1 <= len(procs) <= 3
    assert set(procs[0]) == {"pid", "name", "cpu_percent", "memory_percent"}
    memory = [p["memory_percent"] for p in procs]
    assert memory == sorted(memory, reverse=True)


def test_checker_names_run_the_checks_with_their_options_and_store_them(tmp_path: Path) -> None:
    result = execute(
        {
            "checker_names": ["memory", "disk"],
            "checker_options": {"disk": {"paths": [str(tmp_path)], "critical": 0}},
        }
    )
    assert not result.has_errors
    out = result.output
    assert out["checks_run"] == 2
    assert [c["checker"] for c in out["checks"]] == ["memory", "disk"]
    assert out["checks"][1]["metrics"]["paths"][str(tmp_path)]["status"] == "critical"
    assert out["status"] == "critical"
    assert out["summary"]["critical"] == 1
    assert out["system"] == {}  # checks alone do not add a snapshot nobody asked for
    rows = CheckRun.objects.filter(run_id="run-ctx", trace_id="trace-ctx")
    assert rows.count() == 2
    assert {c["hostname"] for c in out["checks"]} == {socket.gethostname()}


def test_include_and_checker_names_together_give_both() -> None:
    result = execute({"include": ["memory"], "checker_names": ["swap"]})
    assert set(result.output["system"]) == {"memory"}
    assert result.output["checks_run"] == 1


def test_a_failing_check_is_an_unknown_result_not_a_node_error(tmp_path: Path) -> None:
    result = execute(
        {"checker_names": ["disk"], "checker_options": {"disk": {"paths": [str(tmp_path / "x")]}}}
    )
    assert not result.has_errors
    assert result.output["checks"][0]["status"] == "unknown"
    assert result.output["status"] == "unknown"


def test_checkers_skipped_by_settings_are_reported_not_run(settings: Any) -> None:
    settings.CHECKERS_SKIP = ["swap"]
    result = execute({"checker_names": ["memory", "swap"]})
    assert result.output["checks_run"] == 1
    assert result.output["checks_skipped"] == ["swap"]


def test_invalid_config_fails_the_node_with_permanent_errors() -> None:
    result = execute({"include": ["gpu"]})
    assert result.has_errors
    assert result.output == {}


def test_the_seed_configs_are_valid() -> None:
    handler = get_node_handler("context")
    assert handler.validate_config({"include": ["cpu"]}) == []
    assert handler.validate_config({"checker_names": ["cpu", "memory"]}) == []
    assert handler.validate_config({"include": ["cpu", "memory", "disk", "processes"]}) == []
    assert (
        handler.validate_config(
            {"checker_names": ["disk", "network"], "checker_options": {"disk": {"paths": "/,/var"}}}
        )
        == []
    )


def test_validate_config_rejects_unknown_include_items_listing_the_valid_ones() -> None:
    errors = get_node_handler("context").validate_config({"include": ["cpu", "gpu"]})
    assert errors == ["Invalid metrics: gpu. Valid: cpu, memory, disk, processes"]


def test_validate_config_rejects_unknown_checker_names_listing_the_available_ones() -> None:
    errors = get_node_handler("context").validate_config({"checker_names": ["cpu", "fan"]})
    assert errors == [
        "Unknown checker(s): fan. "
        "Available: cpu, memory, disk, load, swap, inodes, network, process"
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"checker_names": ["cpu"], "checker_options": {"cpu": {"samples": 0}}}, "samples"),
        ({"checker_names": ["cpu"], "checker_options": {"disk": {}}}, "not being run: disk"),
        ({"checker_names": ["cpu"], "checker_options": ["cpu"]}, "'checker_options' must be"),
        ({"checker_names": "cpu"}, "'checker_names' must be a list"),
        ({"include": "cpu"}, "'include' must be a list"),
        ({"top_processes": 0}, "'top_processes'"),
        ({"disk_path": ""}, "'disk_path'"),
        ({"checkers": ["cpu"]}, "Unknown config key(s): checkers. Valid: include"),
    ],
)
def test_validate_config_rejects_bad_values_with_a_clear_message(
    config: dict[str, Any], message: str
) -> None:
    errors = get_node_handler("context").validate_config(config)
    assert any(message in e for e in errors), errors


def test_the_engine_added_id_is_not_an_unknown_key() -> None:
    assert get_node_handler("context").validate_config({"id": "ctx", "include": ["cpu"]}) == []
