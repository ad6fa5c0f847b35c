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


def successors(nodes: list[dict[str, Any]], node: dict[str, Any]) -> list[str]:
    """Every node ``node`` can lead to (both branches of a condition)."""
    if node.get("type") == "condition":
        config = node.get("config") or {}
        return [t for t in (config.get("then"), config.get("else")) if isinstance(t, str)]
    nxt = default_next(nodes, node["id"])
    return [nxt] if isinstance(nxt, str) else []
