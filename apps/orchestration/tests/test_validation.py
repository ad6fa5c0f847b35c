"""Definition validation: every seed rule and message, the JSON Schema, cycles, reachability."""

from __future__ import annotations

import pytest

from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.validation import validate_config


def errors_of(config):
    return DefinitionBasedOrchestrator(PipelineDefinition(name="x", config=config)).validate()


def t(node_id, **extra):
    return {"id": node_id, "type": "transform", "config": {"source_node": "x"}, **extra}


def test_a_valid_linear_definition_has_no_errors():
    assert errors_of({"version": "1.0", "nodes": [t("a"), t("b")]}) == []


def test_missing_version_is_reported():
    assert "Missing 'version' in config" in errors_of({"nodes": [t("a")]})


def test_a_pipeline_without_nodes_is_reported():
    assert "Pipeline has no nodes defined" in errors_of({"version": "1.0", "nodes": []})
    assert "Pipeline has no nodes defined" in errors_of({"version": "1.0"})


def test_nodes_missing_id_or_type_are_reported_by_position():
    errors = errors_of({"version": "1.0", "nodes": [{"type": "transform"}, {"id": "b"}]})
    assert "Node 0 missing 'id'" in errors
    assert "Node 1 missing 'type'" in errors


def test_duplicate_node_ids_are_reported():
    assert "Duplicate node id: a" in errors_of({"version": "1.0", "nodes": [t("a"), t("a")]})


def test_an_unknown_node_type_lists_the_known_ones():
    errors = errors_of({"version": "1.0", "nodes": [{"id": "bad", "type": "nonexistent"}]})
    assert len(errors) == 1
    assert errors[0].startswith("Node bad has unknown type: nonexistent. Available: [")
    for known in ("ingest", "context", "intelligence", "transform", "condition", "notify"):
        assert known in errors[0]


def test_handler_config_errors_are_prefixed_by_node_id():
    errors = errors_of({"version": "1.0", "nodes": [{"id": "tx", "type": "transform"}]})
    assert "Node tx: Missing required field: source_node" in errors


def test_an_unknown_next_node_is_reported():
    errors = errors_of({"version": "1.0", "nodes": [t("a", next="ghost")]})
    assert "Node a references unknown next node: ghost" in errors


def test_cycles_are_rejected():
    errors = errors_of({"version": "1.0", "nodes": [t("a", next="b"), t("b", next="a")]})
    assert any(e.startswith("Pipeline has a cycle: a -> b -> a") for e in errors)


def test_fall_through_counts_as_an_edge_when_finding_cycles():
    errors = errors_of({"version": "1.0", "nodes": [t("a"), t("b", next="a")]})
    assert any("cycle" in e for e in errors)


def test_unreachable_nodes_are_rejected():
    errors = errors_of({"version": "1.0", "nodes": [t("a", next=None), t("orphan")]})
    assert "Unreachable nodes (no path from entry node a): ['orphan']" in errors


def test_condition_branches_make_nodes_reachable():
    config = {
        "version": "1.0",
        "nodes": [
            {
                "id": "route",
                "type": "condition",
                "config": {
                    "if": {"path": "payload.severity", "op": "eq", "value": "critical"},
                    "then": "page",
                    "else": "chat",
                },
            },
            t("page", next=None),
            t("chat", next=None),
        ],
    }
    assert errors_of(config) == []


def test_condition_needs_a_valid_test_and_known_branches():
    config = {
        "version": "1.0",
        "nodes": [
            {
                "id": "route",
                "type": "condition",
                "config": {"if": {"path": "x", "op": "like", "value": 1}, "then": "nowhere"},
            }
        ],
    }
    errors = errors_of(config)
    assert any("unknown op 'like'" in e for e in errors)
    assert "Node route references unknown then node: nowhere" in errors


@pytest.mark.parametrize(
    ("node_extra", "fragment"),
    [
        ({"required": "yes"}, "nodes.0.required: 'yes' is not of type 'boolean'"),
        ({"max_retries": -1}, "nodes.0.max_retries: -1 is less than the minimum of 0"),
        ({"timeout_seconds": 0}, "nodes.0.timeout_seconds: 0 is less than or equal"),
        ({"surprise": 1}, "Additional properties are not allowed ('surprise' was unexpected)"),
    ],
)
def test_the_json_schema_rejects_wrong_types(node_extra, fragment):
    errors = validate_config({"version": "1.0", "nodes": [t("a", **node_extra)]})
    assert any(fragment in e for e in errors), errors


def test_a_config_that_is_not_an_object_is_rejected():
    assert validate_config(["nodes"]) == ["Config must be a JSON object"]


def test_defaults_are_checked_by_the_schema():
    errors = validate_config(
        {"version": "1.0", "defaults": {"max_retries": "3"}, "nodes": [t("a")]}
    )
    assert any(e.startswith("defaults.max_retries:") for e in errors)


def test_the_published_json_schema_matches_the_code():
    import json
    from pathlib import Path

    from apps.orchestration.schema import PIPELINE_SCHEMA

    published = Path(__file__).resolve().parents[3] / "docs" / "pipeline.schema.json"
    assert json.loads(published.read_text()) == PIPELINE_SCHEMA


# --- What the engine cannot run is refused when saved (issue 7) --------------------------------


def cond(node_id, **config):
    test = {"path": "a.x", "op": "exists"}
    return {"id": node_id, "type": "condition", "config": {"if": test, **config}}


def test_a_skip_if_condition_outside_the_grammar_names_the_node_and_field():
    errors = errors_of(
        {"version": "1.0", "nodes": [t("a"), t("b", skip_if_condition={"op": "eq", "value": 1})]}
    )
    assert "Node b: skip_if_condition needs a 'path' string" in errors


def test_a_skip_if_condition_with_an_unknown_operator_is_refused():
    test = {"path": "a.x", "op": "between", "value": [1, 2]}
    errors = errors_of({"version": "1.0", "nodes": [t("a"), t("b", skip_if_condition=test)]})
    assert any(e.startswith("Node b: skip_if_condition has unknown op 'between'") for e in errors)


def test_the_string_skip_if_condition_must_name_a_node_with_has_errors():
    errors = errors_of(
        {"version": "1.0", "nodes": [t("a"), t("b", skip_if_condition="ghost.has_errors")]}
    )
    assert "Node b skip_if_condition names unknown node: ghost" in errors
    errors = errors_of({"version": "1.0", "nodes": [t("a"), t("b", skip_if_condition="a")]})
    assert "Node b: skip_if_condition string must be '<node_id>.has_errors', got 'a'" in errors


def test_a_condition_branch_must_be_a_node_id():
    errors = errors_of({"version": "1.0", "nodes": [t("a"), cond("c", then=123), t("d")]})
    assert "Node c: then must be a node id (a string), got 123" in errors
    errors = errors_of({"version": "1.0", "nodes": [t("a"), cond("c", then="d", **{"else": []})]})
    assert "Node c: else must be a node id (a string), got []" in errors


def test_a_non_string_node_id_is_reported_not_crashed_on():
    errors = errors_of({"version": "1.0", "nodes": [{"id": {}, "type": "transform"}, t("b")]})
    assert "Node 0: 'id' must be a string" in errors


def test_the_fall_through_of_a_skippable_condition_counts_for_cycles():
    # If c is skipped the engine follows its next (a), which leads back to c.
    nodes = [
        t("a", next="c"),
        {**cond("c", then="end"), "skip_if_errors": ["a"], "next": "a"},
        t("end", next=None),
    ]
    errors = errors_of({"version": "1.0", "nodes": nodes})
    assert any(e.startswith("Pipeline has a cycle: a -> c -> a") for e in errors)


def test_the_fall_through_of_an_optional_condition_makes_its_next_reachable():
    nodes = [
        t("a", next="c"),
        {**cond("c", then="end"), "required": False, "next": "fallback"},
        t("end", next=None),
        t("fallback", next=None),
    ]
    assert errors_of({"version": "1.0", "nodes": nodes}) == []
