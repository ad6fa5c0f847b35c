"""PLACEHOLDER: the context node arrives with its app; until then it fails permanently."""

from __future__ import annotations

from typing import Any

from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType


class ContextNodeHandler(BaseNodeHandler):
    node_type = NodeType.CONTEXT
    name = "context"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        raise NodeError("the context node is not available yet", retryable=False)
