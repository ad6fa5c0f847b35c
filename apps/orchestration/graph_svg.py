"""A definition's graph drawn as SVG, on the server: no JavaScript, works offline.

Nodes are laid out in columns by their distance from the entry node (breadth-first over the
edges the engine can follow, ``graph.successors``); nodes no path reaches go in a last column.
Edges: ``next`` (or falling through to the node listed after), and a condition's ``then`` and
``else`` labelled. The entry node is marked, unreachable nodes dashed, nodes with validation
errors red with the messages as their tooltip. Every node of the config is drawn, even one
without an id, so the drawing has as many nodes as the definition.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape

from apps.orchestration.graph import may_fall_through

NODE_W, NODE_H = 180, 56
GAP_X, GAP_Y = 90, 28
PAD = 24


@dataclass
class DrawnNode:
    index: int
    id: str | None
    type: str
    column: int = 0
    row: int = 0
    reachable: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.id if self.id is not None else f"node {self.index} (no id)"

    @property
    def x(self) -> int:
        return PAD + self.column * (NODE_W + GAP_X)

    @property
    def y(self) -> int:
        return PAD + self.row * (NODE_H + GAP_Y)


def _nodes(config: Any) -> list[Any]:
    nodes = config.get("nodes") if isinstance(config, dict) else None
    return nodes if isinstance(nodes, list) else []


def node_errors(config: Any, errors: list[str]) -> tuple[dict[int, list[str]], list[str]]:
    """Validation messages by the index of the node they name, and those naming no node."""
    nodes = _nodes(config)
    ids: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            ids.setdefault(node["id"], []).append(i)
    by_node: dict[int, list[str]] = {}
    general: list[str] = []
    for message in errors:
        targets = _targets(message, ids, len(nodes))
        for index in targets:
            by_node.setdefault(index, []).append(message)
        if not targets:
            general.append(message)
    return by_node, general


def _targets(message: str, ids: dict[str, list[int]], count: int) -> list[int]:
    found = re.match(r"Node (.+?)(?::| has | references | skip_if| missing | must )", message)
    if found:
        label = found.group(1)
        if label in ids:
            return ids[label]
        if label.isdigit() and int(label) < count:
            return [int(label)]
    found = re.match(r"Duplicate node id: (.+)$", message)
    if found and found.group(1) in ids:
        return ids[found.group(1)]
    found = re.match(r"nodes\.(\d+)\b", message)
    if found and int(found.group(1)) < count:
        return [int(found.group(1))]
    found = re.match(r"Unreachable nodes \(.*?\): (\[.*\])$", message)
    if found:
        try:
            # A list literal of ids, as validation writes it: literal_eval, never eval.
            listed = ast.literal_eval(found.group(1))
        except (ValueError, SyntaxError):
            return []
        return [i for name in listed if isinstance(name, str) for i in ids.get(name, [])]
    found = re.match(r"Pipeline has a cycle: (.+)$", message)
    if found:
        names = dict.fromkeys(found.group(1).split(" -> "))
        return [i for name in names for i in ids.get(name, [])]
    return []


def edges(nodes: list[Any]) -> list[tuple[int, int, str]]:
    """``(from index, to index, label)``: "" for next/fall-through, "then", "else"."""
    ids = {}
    for i, node in enumerate(nodes):
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            ids.setdefault(node["id"], i)
    found: list[tuple[int, int, str]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        targets: list[tuple[Any, str]] = []
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        following = _next(nodes, i)
        if node.get("type") == "condition":
            targets += [(config.get("then"), "then"), (config.get("else"), "else")]
            if may_fall_through(node):
                targets.append((following, "skipped"))
        else:
            targets.append((following, ""))
        seen = set()
        for target, label in targets:
            if isinstance(target, str) and target in ids and (target, label) not in seen:
                seen.add((target, label))
                found.append((i, ids[target], label))
    return found


def _next(nodes: list[Any], index: int) -> Any:
    """``graph.default_next`` for a config that may be invalid (the node listed after may
    not be an object or have no id)."""
    node = nodes[index]
    if "next" in node:
        return node["next"]
    after = nodes[index + 1] if index + 1 < len(nodes) else None
    return after.get("id") if isinstance(after, dict) else None


def layout(config: Any, errors: list[str] | None = None) -> tuple[list[DrawnNode], list]:
    nodes = _nodes(config)
    by_node, _ = node_errors(config, errors or [])
    drawn = [
        DrawnNode(
            index=i,
            id=node.get("id")
            if isinstance(node, dict) and isinstance(node.get("id"), str)
            else None,
            type=str(node.get("type", "?")) if isinstance(node, dict) else "not an object",
            errors=by_node.get(i, []),
        )
        for i, node in enumerate(nodes)
    ]
    links = edges(nodes)
    if drawn and drawn[0].id is not None:
        following: dict[int, list[int]] = {}
        for a, b, _ in links:
            following.setdefault(a, []).append(b)
        depth = {0: 0}
        queue = [0]
        while queue:
            current = queue.pop(0)
            for nxt in following.get(current, []):
                if nxt not in depth:
                    depth[nxt] = depth[current] + 1
                    queue.append(nxt)
        for index, column in depth.items():
            drawn[index].column, drawn[index].reachable = column, True
    last = max((n.column for n in drawn if n.reachable), default=-1) + 1
    rows: dict[int, int] = {}
    for node in drawn:
        if not node.reachable:
            node.column = last
        node.row = rows.get(node.column, 0)
        rows[node.column] = node.row + 1
    return drawn, links


def render_svg(config: Any, errors: list[str] | None = None) -> str:
    """The SVG markup (safe to embed: every text is escaped)."""
    drawn, links = layout(config, errors)
    width = PAD * 2 + (max((n.column for n in drawn), default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max((n.row for n in drawn), default=0) * (NODE_H + GAP_Y) + NODE_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pipeline-graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Pipeline graph, {len(drawn)} nodes" font-family="sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    parts += [_edge(drawn[a], drawn[b], label) for a, b, label in links]
    parts += [_node(node) for node in drawn]
    if not drawn:
        parts.append(f'<text x="{PAD}" y="{PAD + 20}" fill="#888">No nodes</text>')
    parts.append("</svg>")
    return "".join(parts)


def _edge(a: DrawnNode, b: DrawnNode, label: str) -> str:
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
    x2, y2 = b.x, b.y + NODE_H / 2
    if b.column <= a.column:
        # Backwards or within a column (a cycle, or an edge to an unreachable column): loop
        # under the nodes so it never hides one.
        x1, x2 = a.x + NODE_W / 2, b.x + NODE_W / 2
        y1, y2 = a.y + NODE_H, b.y + NODE_H
        low = max(y1, y2) + GAP_Y * 0.8
        path = f"M {x1} {y1} C {x1} {low} {x2} {low} {x2} {y2}"
        lx, ly = (x1 + x2) / 2, low - 4
    else:
        mid = (x1 + x2) / 2
        path = f"M {x1} {y1} C {mid} {y1} {mid} {y2} {x2} {y2}"
        lx, ly = mid, (y1 + y2) / 2 - 4
    colour = {"then": "#2e7d32", "else": "#c62828", "skipped": "#888"}.get(label, "#555")
    dash = ' stroke-dasharray="4 3"' if label == "skipped" else ""
    text = (
        f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="middle" font-size="11" '
        f'fill="{colour}" class="edge-label">{escape(label)}</text>'
        if label
        else ""
    )
    return (
        f'<g class="edge" data-from="{escape(a.label)}" data-to="{escape(b.label)}" '
        f'data-label="{escape(label)}"><path d="{path}" fill="none" stroke="{colour}" '
        f'stroke-width="1.5"{dash} marker-end="url(#arrow)"/>{text}</g>'
    )


def _node(node: DrawnNode) -> str:
    classes = ["node"]
    fill, stroke, dash = "#f5f8ff", "#3f51b5", ""
    if node.index == 0:
        classes.append("entry")
    if not node.reachable:
        classes.append("unreachable")
        fill, stroke, dash = "#fff8e1", "#ef6c00", ' stroke-dasharray="6 4"'
    if node.errors:
        classes.append("invalid")
        fill, stroke = "#ffebee", "#c62828"
    width = 3 if node.index == 0 else 1.5
    title = node.label + (" (entry)" if node.index == 0 else "")
    if not node.reachable:
        title += " (unreachable)"
    title += "".join(f"\n{e}" for e in node.errors)
    name = node.label if len(node.label) <= 22 else node.label[:21] + "…"
    badge = (
        f'<text x="{node.x + NODE_W - 6}" y="{node.y + 13}" text-anchor="end" font-size="10" '
        'fill="#3f51b5">ENTRY</text>'
        if node.index == 0
        else ""
    )
    return (
        f'<g class="{" ".join(classes)}" data-node="{escape(node.label)}" '
        f'data-index="{node.index}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{node.x}" y="{node.y}" width="{NODE_W}" height="{NODE_H}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>{badge}'
        f'<text x="{node.x + 10}" y="{node.y + 24}" font-size="13" font-weight="bold">'
        f"{escape(name)}</text>"
        f'<text x="{node.x + 10}" y="{node.y + 43}" font-size="11" fill="#555">'
        f"{escape(node.type)}{' · ' + str(len(node.errors)) + ' error(s)' if node.errors else ''}"
        "</text></g>"
    )
