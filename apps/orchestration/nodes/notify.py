"""PLACEHOLDER: the notify node arrives with its app; until then it fails permanently."""

from __future__ import annotations

from typing import Any

from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType


class NotifyNodeHandler(BaseNodeHandler):
    node_type = NodeType.NOTIFY
    name = "notify"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        raise NodeError("the notify node is not available yet", retryable=False)
