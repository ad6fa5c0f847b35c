"""Validation of a pipeline config: the seed's rules, the JSON Schema, cycles, reachability."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from apps.noise import config as noise_config
from apps.orchestration import conditions
from apps.orchestration.graph import node_index, successors
from apps.orchestration.schema import PIPELINE_SCHEMA

_schema_validator = Draft202012Validator(PIPELINE_SCHEMA)


def validate_config(config: Any) -> list[str]:
    """Every problem with ``config`` as a message; an empty list means it can run."""
    from apps.orchestration.nodes import get_node_handler, list_node_types

    if not isinstance(config, dict):
        return ["Config must be a JSON object"]
    errors: list[str] = []
    if "version" not in config:
        errors.append("Missing 'version' in config")
    nodes = config.get("nodes")
    if not nodes:
        errors.append("Pipeline has no nodes defined")
    if not isinstance(nodes, list):
        return errors + _schema_errors(config)
    available = list_node_types()
    seen: set[str] = set()
    # Only string ids can name a node; anything else is reported below (and by the schema).
    all_ids = {n.get("id") for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            errors.append(f"Node {i} must be an object")
            continue
        label = node["id"] if isinstance(node.get("id"), str) else i
        if "id" not in node:
            errors.append(f"Node {i} missing 'id'")
        elif not isinstance(node["id"], str):
            errors.append(f"Node {i}: 'id' must be a string")
        elif node["id"] in seen:
            errors.append(f"Duplicate node id: {node['id']}")
        else:
            seen.add(node["id"])
        if "type" not in node:
            errors.append(f"Node {i} missing 'type'")
        elif not isinstance(node["type"], str) or node["type"] not in available:
            errors.append(f"Node {label} has unknown type: {node['type']}. Available: {available}")
        elif isinstance(node.get("config", {}), dict):
            handler = get_node_handler(node["type"])
            for message in handler.validate_config(node.get("config", {})):
                errors.append(f"Node {label}: {message}")
        errors += _reference_errors(node, label, all_ids)
    errors += _schema_errors(config)
    errors += noise_config.errors(config)
    if not errors:
        errors += _graph_errors(nodes)
    return errors


def _reference_errors(node: dict[str, Any], label: Any, all_ids: set[str]) -> list[str]:
    """Every node id the node names must exist, and every test must be well formed."""
    errors: list[str] = []
    next_node = node.get("next")
    if isinstance(next_node, str) and next_node not in all_ids:
        errors.append(f"Node {label} references unknown next node: {next_node}")
    if node.get("type") == "condition" and isinstance(node.get("config"), dict):
        for branch in ("then", "else"):
            target = node["config"].get(branch)
            if target is None:
                continue
            if not isinstance(target, str):
                errors.append(
                    f"Node {label}: {branch} must be a node id (a string), got {target!r}"
                )
            elif target not in all_ids:
                errors.append(f"Node {label} references unknown {branch} node: {target}")
    refs = node.get("skip_if_errors")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, str) and ref not in all_ids:
            errors.append(f"Node {label} skip_if_errors names unknown node: {ref}")
    test = node.get("skip_if_condition")
    if isinstance(test, str):
        ref = test.removesuffix(".has_errors")
        if ref == test:
            errors.append(
                f"Node {label}: skip_if_condition string must be '<node_id>.has_errors', "
                f"got {test!r}"
            )
        elif ref not in all_ids:
            errors.append(f"Node {label} skip_if_condition names unknown node: {ref}")
    elif isinstance(test, dict):
        errors += [f"Node {label}: {e}" for e in conditions.validate(test, "skip_if_condition")]
    elif test is not None:
        errors.append(f"Node {label}: skip_if_condition must be an object or '<node>.has_errors'")
    return errors


def _schema_errors(config: dict[str, Any]) -> list[str]:
    messages = []
    for error in sorted(_schema_validator.iter_errors(config), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path) or "config"
        messages.append(f"{where}: {error.message}")
    return messages


def _graph_errors(nodes: list[dict[str, Any]]) -> list[str]:
    """Cycles (a run must end) and nodes no path from the entry reaches."""
    index = node_index(nodes)
    entry = nodes[0]["id"]
    errors: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        for nxt in successors(nodes, index[node_id]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                errors.append("Pipeline has a cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node_id] = 2

    visit(entry, [entry])
    unreachable = [n["id"] for n in nodes if n["id"] not in state]
    if unreachable:
        errors.append(f"Unreachable nodes (no path from entry node {entry}): {unreachable}")
    return errors
