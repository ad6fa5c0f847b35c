"""The order a definition's nodes would run in, every branch shown (the API's dry run)."""

from __future__ import annotations

from typing import Any

from apps.orchestration.graph import node_index, successors

MAX_PATHS = 100


def plan(config: dict[str, Any]) -> dict[str, Any]:
    """``entry``, ``order`` (breadth-first from the entry: the order nodes can first run),
    ``steps`` (each node with where it can go next) and ``paths`` (entry to end, each branch).

    Only meaningful for a valid config (the caller validates first)."""
    from workers.app import queue_for_node

    nodes = [n for n in config.get("nodes") or [] if isinstance(n, dict)]
    index = node_index(nodes)
    if not nodes or not isinstance(nodes[0].get("id"), str):
        return {"entry": None, "order": [], "steps": [], "paths": []}
    entry = nodes[0]["id"]
    order: list[str] = []
    queue = [entry]
    while queue:
        node_id = queue.pop(0)
        if node_id in order or node_id not in index:
            continue
        order.append(node_id)
        queue.extend(successors(nodes, index[node_id]))
    steps = []
    for node_id in order:
        node = index[node_id]
        step: dict[str, Any] = {
            "id": node_id,
            "type": str(node.get("type", "")),
            "next": successors(nodes, node),
            "required": node.get("required", True) is not False,
            "queue": queue_for_node(str(node.get("type", "")), node.get("queue")),
        }
        if node.get("type") == "condition":
            cfg = node.get("config") or {}
            step["branches"] = {"then": cfg.get("then"), "else": cfg.get("else")}
        steps.append(step)
    return {"entry": entry, "order": order, "steps": steps, "paths": _paths(nodes, index, entry)}


def _paths(nodes: list[dict[str, Any]], index: dict[str, Any], entry: str) -> list[list[str]]:
    paths: list[list[str]] = []
    stack: list[list[str]] = [[entry]]
    while stack and len(paths) < MAX_PATHS:
        path = stack.pop()
        following = [n for n in successors(nodes, index[path[-1]]) if n in index]
        following = [n for n in following if n not in path]  # a cycle ends the path
        if not following:
            paths.append(path)
        for nxt in reversed(following):
            stack.append([*path, nxt])
    return paths
