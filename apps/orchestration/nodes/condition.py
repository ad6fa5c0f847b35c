"""Condition node: picks the next node from a declarative test on earlier outputs."""

from __future__ import annotations

from typing import Any

from apps.orchestration import conditions
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType


class ConditionNodeHandler(BaseNodeHandler):
    """Config: ``{"if": test, "then": node_id, "else": node_id | null}``.

    ``then``/``else`` may sit in the node's ``config`` or beside it in the node; ``else``
    absent or null ends the run when the test fails.
    """

    node_type = NodeType.CONDITION
    name = "condition"
    recomputable = True  # reads earlier outputs, changes nothing else

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        result = self.result(ctx, config)
        data = conditions.data_for(
            ctx.previous_outputs,
            ctx.payload,
            {"source": ctx.source, "environment": ctx.environment, "incident_id": ctx.incident_id},
        )
        matched = conditions.evaluate(config["if"], data)
        chosen = config.get("then") if matched else config.get("else")
        result.output = {"matched": matched, "next": chosen}
        result.next_node = chosen
        return result

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        errors = (
            conditions.validate(config.get("if"), "if")
            if "if" in config
            else ["Missing required field: if"]
        )
        if not config.get("then"):
            errors.append("Missing required field: then")
        return errors

    @staticmethod
    def branch_targets(config: dict[str, Any]) -> list[str]:
        """Node ids this condition can lead to (for validation of reachability)."""
        return [t for t in (config.get("then"), config.get("else")) if t]
