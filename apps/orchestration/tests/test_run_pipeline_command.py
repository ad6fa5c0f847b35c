"""The run_pipeline command: the seed's flags, output lines and error messages."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db

TWO_NODES = [
    {"id": "first", "type": "transform", "config": {"source_node": "x"}, "next": "second"},
    {"id": "second", "type": "transform", "config": {"source_node": "first"}},
]


def run_cmd(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("run_pipeline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_definition_not_found():
    with pytest.raises(CommandError, match="Pipeline definition not found: nonexistent"):
        run_cmd("--definition", "nonexistent")


def test_config_file_not_found():
    with pytest.raises(CommandError, match="Config file not found: missing.json"):
        run_cmd("--config", "missing.json")


def test_definition_and_config_are_mutually_exclusive():
    with pytest.raises(CommandError, match="Cannot specify both --definition and --config"):
        run_cmd("--definition", "a", "--config", "b.json")


def test_invalid_json_in_config_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{invalid json content")
    with pytest.raises(CommandError, match="Invalid JSON in config file"):
        run_cmd("--config", str(path))


def test_an_invalid_definition_is_refused_with_its_errors():
    PipelineDefinition.objects.create(
        name="invalid-pipeline", config={"nodes": [{"id": "bad", "type": "nonexistent_type"}]}
    )
    with pytest.raises(CommandError) as info:
        run_cmd("--definition", "invalid-pipeline")
    assert "Pipeline definition invalid:" in str(info.value)
    assert "Missing 'version' in config" in str(info.value)


def test_dry_run_lists_nodes_and_links_without_running():
    definition("test-pipeline", TWO_NODES)
    out, _ = run_cmd("--definition", "test-pipeline", "--dry-run")
    assert "=== DRY RUN ===" in out
    assert "Pipeline Definition: test-pipeline" in out
    assert "  1. [transform] first" in out
    assert "→ next: second" in out
    assert "  2. [transform] second" in out
    assert "→ end" in out
    assert PipelineRun.objects.count() == 0


def test_running_a_definition_prints_the_result_node_by_node():
    definition("test-exec-pipeline", TWO_NODES)
    out, _ = run_cmd("--definition", "test-exec-pipeline", "--payload", '{"server": "web-01"}')
    assert "PIPELINE RESULT" in out
    assert "Status: completed" in out
    assert "Definition: test-exec-pipeline" in out
    assert out.index("--- transform (first) ---") < out.index("--- transform (second) ---")
    run = PipelineRun.objects.get()
    assert run.payload == {"server": "web-01"}
    assert f"Run ID: {run.run_id}" in out


def test_json_output_holds_only_the_result(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"version": "1.0", "nodes": TWO_NODES}))
    out, _ = run_cmd("--config", str(path), "--json", "--trace-id", "trace-cli")
    result = json.loads(out)
    assert result["status"] == "completed"
    assert result["trace_id"] == "trace-cli"
    assert result["definition"] == f"__adhoc__{path}"
    assert result["executed_nodes"] == ["first", "second"]


def test_a_failed_run_exits_non_zero(test_node_types):
    definition("fails", [{"id": "bad", "type": "failing"}])
    with pytest.raises(CommandError, match="Pipeline failed"):
        run_cmd("--definition", "fails")


def test_async_needs_a_broker():
    definition("p", TWO_NODES)
    with pytest.raises(CommandError, match="--async needs a broker"):
        run_cmd("--definition", "p", "--async")


def test_nothing_to_run_is_explained():
    with pytest.raises(CommandError, match="Must specify --sample"):
        run_cmd()


def test_an_inactive_definition_is_refused():
    d = definition("off", TWO_NODES)
    d.is_active = False
    d.save()
    with pytest.raises(CommandError, match="inactive"):
        run_cmd("--definition", "off")
