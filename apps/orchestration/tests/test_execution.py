"""In-process execution: the seed's result dictionary, order, retries, skips and failures."""

from __future__ import annotations

import time

import pytest

from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.models import PipelineDefinition, PipelineRun, StageExecution
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db

RESULT_KEYS = {
    "trace_id",
    "run_id",
    "definition",
    "definition_version",
    "status",
    "incident_id",
    "executed_nodes",
    "skipped_nodes",
    "node_results",
    "duration_ms",
    "error",
}


def run(pipeline, **kwargs):
    return DefinitionBasedOrchestrator(pipeline).execute(**{"source": "test", **kwargs})


def test_execute_returns_the_seed_result_dictionary(test_node_types):
    pipeline = definition("simple", [{"id": "a", "type": "sleep"}])
    result = run(pipeline, payload={"k": "v"}, trace_id="trace-1", environment="staging")
    assert set(result) >= RESULT_KEYS
    assert result["status"] == "completed"
    assert result["trace_id"] == "trace-1"
    assert result["definition"] == "simple"
    assert result["definition_version"] == 1
    assert result["executed_nodes"] == ["a"]
    assert result["node_results"]["a"]["output"] == {"slept": 0}
    assert result["error"] is None
    stored = PipelineRun.objects.get(run_id=result["run_id"])
    assert (stored.source, stored.environment, stored.payload) == ("test", "staging", {"k": "v"})
    assert stored.config == pipeline.config  # frozen copy


def test_nodes_follow_next_not_list_order(test_node_types):
    pipeline = definition(
        "ordered",
        [
            {"id": "a", "type": "sleep", "next": "c"},
            {"id": "b", "type": "sleep", "next": None},
            {"id": "c", "type": "sleep", "next": "b"},
        ],
    )
    assert run(pipeline)["executed_nodes"] == ["a", "c", "b"]


def test_nodes_without_next_fall_through_in_list_order(test_node_types):
    pipeline = definition("seed-style", [{"id": n, "type": "sleep"} for n in "xyz"])
    assert run(pipeline)["executed_nodes"] == ["x", "y", "z"]


def test_next_null_ends_the_run(test_node_types):
    pipeline = definition(
        "short", [{"id": "a", "type": "sleep", "next": None}, {"id": "b", "type": "sleep"}]
    )
    # b is unreachable, which validation rejects: a run must not silently ignore nodes.
    with pytest.raises(DefinitionInvalidError, match="Unreachable"):
        run(pipeline)


def test_outputs_of_earlier_nodes_reach_later_ones(test_node_types):
    pipeline = definition(
        "chain",
        [
            {"id": "gather", "type": "sleep"},
            {
                "id": "pick",
                "type": "transform",
                "config": {"source_node": "gather", "mapping": {"waited": "slept"}},
            },
        ],
    )
    result = run(pipeline)
    assert result["node_results"]["pick"]["output"]["transformed"] == {"waited": 0}


def test_a_condition_node_picks_the_branch(test_node_types):
    nodes = [
        {
            "id": "route",
            "type": "condition",
            "config": {
                "if": {"path": "payload.severity", "op": "in", "value": ["critical"]},
                "then": "page",
                "else": "chat",
            },
        },
        {"id": "page", "type": "sleep", "next": None},
        {"id": "chat", "type": "sleep", "next": None},
    ]
    pipeline = definition("branching", nodes)
    assert run(pipeline, payload={"severity": "critical"})["executed_nodes"] == ["route", "page"]
    assert run(pipeline, payload={"severity": "info"})["executed_nodes"] == ["route", "chat"]


def test_a_retryable_error_is_retried_up_to_max_retries(test_node_types):
    pipeline = definition(
        "flaky",
        [{"id": "shaky", "type": "memflaky", "config": {"fail_times": 2}}],
        max_retries=2,
        retry_backoff_seconds=0.01,
    )
    result = run(pipeline)
    assert result["status"] == "completed"
    assert result["node_results"]["shaky"]["attempts"] == 3
    rows = StageExecution.objects.filter(run__run_id=result["run_id"]).order_by("attempt")
    assert [r.idempotency_key.split(":")[1:] for r in rows] == [
        ["shaky", "1"],
        ["shaky", "2"],
        ["shaky", "3"],
    ]


def test_a_node_override_of_max_retries_wins_over_defaults(test_node_types):
    pipeline = definition(
        "override",
        [{"id": "shaky", "type": "memflaky", "config": {"fail_times": 1}, "max_retries": 0}],
        max_retries=5,
    )
    result = run(pipeline)
    assert result["status"] == "failed"
    assert "transient failure 1" in result["error"]


def test_permanent_errors_are_not_retried(test_node_types):
    pipeline = definition("perm", [{"id": "bad", "type": "failing"}], max_retries=3)
    result = run(pipeline)
    assert result["status"] == "failed"
    assert result["error"] == "Node bad failed: permanent failure"
    assert result["node_results"]["bad"]["attempts"] == 1
    assert result["executed_nodes"] == ["bad"]


def test_a_failed_optional_node_is_recorded_and_the_run_goes_on(test_node_types):
    pipeline = definition(
        "optional",
        [
            {"id": "maybe", "type": "failing", "required": False},
            {"id": "after", "type": "sleep"},
        ],
    )
    result = run(pipeline)
    assert result["status"] == "completed"
    assert result["executed_nodes"] == ["maybe", "after"]
    assert result["node_results"]["maybe"]["errors"] == ["permanent failure"]


def test_a_handler_bug_fails_the_node_with_its_type(test_node_types):
    result = run(definition("bug", [{"id": "b", "type": "broken"}]))
    assert result["status"] == "failed"
    row = StageExecution.objects.get(run__run_id=result["run_id"])
    assert row.error_type == "ValueError"
    assert "handler bug" in row.error_message


def test_skip_if_errors_skips_when_a_named_node_failed(test_node_types):
    pipeline = definition(
        "skips",
        [
            {"id": "maybe", "type": "failing", "required": False},
            {"id": "needs_maybe", "type": "sleep", "skip_if_errors": ["maybe"]},
            {"id": "always", "type": "sleep"},
        ],
    )
    result = run(pipeline)
    assert result["skipped_nodes"] == ["needs_maybe"]
    assert result["executed_nodes"] == ["maybe", "always"]
    assert result["status"] == "completed"


def test_skip_if_condition_supports_the_seed_string_and_declarative_tests(test_node_types):
    pipeline = definition(
        "conditions",
        [
            {"id": "maybe", "type": "failing", "required": False},
            {"id": "seed_form", "type": "sleep", "skip_if_condition": "maybe.has_errors"},
            {
                "id": "declarative",
                "type": "sleep",
                "skip_if_condition": {"path": "payload.quiet", "op": "eq", "value": True},
            },
            {"id": "runs", "type": "sleep"},
        ],
    )
    result = run(pipeline, payload={"quiet": True})
    assert result["skipped_nodes"] == ["seed_form", "declarative"]
    assert result["executed_nodes"] == ["maybe", "runs"]


def test_a_node_past_its_timeout_fails_with_a_timeout_error(test_node_types):
    pipeline = definition(
        "slow",
        [{"id": "nap", "type": "sleep", "config": {"seconds": 5}, "timeout_seconds": 0.3}],
        max_retries=0,
    )
    started = time.monotonic()
    result = run(pipeline)
    assert time.monotonic() - started < 3
    assert result["status"] == "failed"
    row = StageExecution.objects.get(run__run_id=result["run_id"])
    assert row.error_type == "NodeTimeoutError"
    assert row.error_retryable is True


def test_executing_an_invalid_definition_raises_with_every_error():
    pipeline = PipelineDefinition(name="broken", config={"nodes": [{"id": "a", "type": "nope"}]})
    with pytest.raises(DefinitionInvalidError) as info:
        DefinitionBasedOrchestrator(pipeline).execute()
    assert "Missing 'version' in config" in info.value.errors


def test_an_unsaved_definition_runs_and_is_recorded_by_name(test_node_types):
    adhoc = PipelineDefinition(
        name="__adhoc__x.json", config={"version": "1", "nodes": [{"id": "a", "type": "sleep"}]}
    )
    result = DefinitionBasedOrchestrator(adhoc).execute()
    stored = PipelineRun.objects.get(run_id=result["run_id"])
    assert stored.definition is None
    assert stored.definition_name == "__adhoc__x.json"


def test_a_redelivered_message_for_a_finished_node_does_not_run_it_again(test_node_types):
    from apps.orchestration import engine
    from apps.orchestration.engine.runner import InlineRunner

    pipeline = definition("once", [{"id": "a", "type": "sleep"}, {"id": "b", "type": "sleep"}])
    result = run(pipeline)
    calls = test_node_types
    before = dict(calls)
    engine.process_node(result["run_id"], "a", 1, InlineRunner())
    engine.process_node(result["run_id"], "b", 1, InlineRunner())
    assert calls == before
    assert StageExecution.objects.filter(run__run_id=result["run_id"]).count() == 2
