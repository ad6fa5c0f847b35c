"""Transform node: extract, filter and map data from an earlier node (seed semantics)."""

from __future__ import annotations

from typing import Any

from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType
from apps.orchestration.paths import get_path


class TransformNodeHandler(BaseNodeHandler):
    """Reads ``source_node``'s output; ``extract`` a dotted path, keep items whose
    ``priority`` equals ``filter_priority``, or build a new object from ``mapping``
    (target key -> dotted path). Output: ``{"transformed": ..., "source_node": ...}``."""

    node_type = NodeType.TRANSFORM
    name = "transform"
    recomputable = True  # reads earlier outputs, changes nothing else

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        result = self.result(ctx, config)
        source_node = config.get("source_node")
        source = ctx.previous_outputs.get(source_node, {})
        data: Any = source

        if config.get("extract"):
            data = get_path(data, config["extract"])

        wanted = config.get("filter_priority")
        if wanted and isinstance(data, list):
            data = [
                item
                for item in data
                if isinstance(item, dict)
                and str(item.get("priority", "")).lower() == wanted.lower()
            ]

        mapping = config.get("mapping")
        if mapping:
            data = {target: get_path(source, path) for target, path in mapping.items()}

        result.output = {"transformed": data, "source_node": source_node}
        return result

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        errors = []
        if "source_node" not in config:
            errors.append("Missing required field: source_node")
        mapping = config.get("mapping")
        if mapping is not None and not (
            isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())
        ):
            errors.append("mapping must be an object of target key -> dotted path strings")
        for key in ("extract", "filter_priority"):
            if key in config and not isinstance(config[key], str):
                errors.append(f"{key} must be a string")
        return errors
