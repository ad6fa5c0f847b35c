"""How a definition's nodes link: ``next``, fall-through, and condition branches."""

from __future__ import annotations

from typing import Any

_UNSET = object()


def node_index(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}


def default_next(nodes: list[dict[str, Any]], node_id: str) -> str | None:
    """The node after ``node_id`` when nothing branches: its ``next`` if the key is present
    (``null`` ends the run), else the node listed after it, else the end."""
    for i, node in enumerate(nodes):
        if node.get("id") != node_id:
            continue
        nxt = node.get("next", _UNSET)
        if nxt is not _UNSET:
            return nxt
        return nodes[i + 1]["id"] if i + 1 < len(nodes) else None
    return None


def may_fall_through(node: dict[str, Any]) -> bool:
    """Whether a condition can end without choosing a branch: skipped, or failed while
    optional. The engine then follows its ``next`` (or the node listed after it)."""
    return bool(
        node.get("required", True) is False
        or node.get("skip_if_errors")
        or node.get("skip_if_condition")
    )


def successors(nodes: list[dict[str, Any]], node: dict[str, Any]) -> list[str]:
    """Every node ``node`` can lead to: both branches of a condition, plus the fall-through
    edge the engine follows when the condition is skipped or fails while optional."""
    targets: list[Any] = []
    if node.get("type") == "condition":
        config = node.get("config") or {}
        targets += [config.get("then"), config.get("else")]
        if may_fall_through(node):
            targets.append(default_next(nodes, node["id"]))
    else:
        targets.append(default_next(nodes, node["id"]))
    return list(dict.fromkeys(t for t in targets if isinstance(t, str)))
