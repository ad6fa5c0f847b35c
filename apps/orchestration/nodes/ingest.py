"""PLACEHOLDER: the ingest node arrives with its app; until then it fails permanently."""

from __future__ import annotations

from typing import Any

from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType


class IngestNodeHandler(BaseNodeHandler):
    node_type = NodeType.INGEST
    name = "ingest"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        raise NodeError("the ingest node is not available yet", retryable=False)
