"""The definition graph drawn as SVG: one drawing per node, the entry marked, edges and
condition branches labelled, unreachable and invalid nodes highlighted, text escaped."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from apps.orchestration.graph_svg import node_errors, render_svg
from apps.orchestration.validation import validate_config

SVG = "{http://www.w3.org/2000/svg}"


def nodes_of(svg: str) -> dict[str, str]:
    root = ElementTree.fromstring(svg)  # well-formed XML, or this raises
    return {
        g.get("data-node"): g.get("class")
        for g in root.iter(f"{SVG}g")
        if (g.get("class") or "").startswith("node")
    }


def edges_of(svg: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r'data-from="([^"]*)" data-to="([^"]*)" data-label="([^"]*)"', svg))


BRANCHING = {
    "version": "1",
    "nodes": [
        {"id": "ingest", "type": "ingest"},
        {"id": "check", "type": "condition",
         "config": {"if": {"path": "ingest.severity", "op": "eq", "value": "critical"},
                    "then": "page", "else": "chat"}},
        {"id": "page", "type": "notify", "next": None},
        {"id": "chat", "type": "notify"},
    ],
}  # fmt: skip


def test_every_node_is_drawn_once_with_the_entry_marked():
    drawn = nodes_of(render_svg(BRANCHING))
    assert len(drawn) == len(BRANCHING["nodes"])
    assert drawn["ingest"] == "node entry"
    assert drawn["page"] == "node"


def test_next_edges_and_labelled_condition_branches():
    assert edges_of(render_svg(BRANCHING)) == {
        ("ingest", "check", ""),
        ("check", "page", "then"),
        ("check", "chat", "else"),
    }


def test_an_optional_condition_also_falls_through():
    config = {**BRANCHING, "nodes": [dict(n) for n in BRANCHING["nodes"]]}
    config["nodes"][1]["required"] = False
    assert ("check", "page", "skipped") in edges_of(render_svg(config))


def test_a_node_no_path_reaches_is_drawn_unreachable():
    config = {**BRANCHING, "nodes": [*BRANCHING["nodes"], {"id": "orphan", "type": "notify"}]}
    config["nodes"][3] = {"id": "chat", "type": "notify", "next": None}
    assert validate_config(config) == [
        "Unreachable nodes (no path from entry node ingest): ['orphan']"
    ]
    drawn = nodes_of(render_svg(config, validate_config(config)))
    assert drawn["orphan"] == "node unreachable invalid"
    assert drawn["chat"] == "node"


def test_errors_go_to_the_node_they_name_by_id_or_position():
    config = {"version": "1", "nodes": [{"id": "a", "type": "nope"}, {"type": "notify"}, "x"]}
    errors = validate_config(config)
    by_node, general = node_errors(config, errors)
    assert any("Node a has unknown type" in m for m in by_node[0])
    assert by_node[1] == ["Node 1 missing 'id'"]
    assert by_node[2][0] == "Node 2 must be an object"
    drawn = nodes_of(render_svg(config, errors))
    assert len(drawn) == 3
    assert drawn["a"] == "node entry invalid"
    assert drawn["node 1 (no id)"].endswith("invalid")


def test_a_cycle_marks_its_nodes():
    config = {
        "version": "1",
        "nodes": [
            {"id": "a", "type": "transform", "config": {"source_node": "b"}, "next": "b"},
            {"id": "b", "type": "transform", "config": {"source_node": "a"}, "next": "a"},
        ],
    }
    errors = validate_config(config)
    assert any(e.startswith("Pipeline has a cycle") for e in errors)
    drawn = nodes_of(render_svg(config, errors))
    assert drawn == {"a": "node entry invalid", "b": "node invalid"}
    assert ("b", "a", "") in edges_of(render_svg(config))


def test_text_from_the_config_is_escaped():
    config = {"version": "1", "nodes": [{"id": '<script>"x"</script>', "type": "<b>"}]}
    svg = render_svg(config)
    assert "<script>" not in svg
    assert len(nodes_of(svg)) == 1


def test_a_config_without_nodes_draws_none():
    assert nodes_of(render_svg({"version": "1", "nodes": []})) == {}
    assert nodes_of(render_svg("not an object")) == {}
