"""Pipeline node types and their handlers.

The registry is this explicit dict, in the order a pipeline usually runs; validation, the
JSON Schema's ``type`` enum and the queue routing all derive from it.
"""

from __future__ import annotations

from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType
from apps.orchestration.nodes.condition import ConditionNodeHandler
from apps.orchestration.nodes.context import ContextNodeHandler
from apps.orchestration.nodes.ingest import IngestNodeHandler
from apps.orchestration.nodes.intelligence import IntelligenceNodeHandler
from apps.orchestration.nodes.notify import NotifyNodeHandler
from apps.orchestration.nodes.transform import TransformNodeHandler

_NODE_HANDLERS: dict[str, type[BaseNodeHandler]] = {
    "ingest": IngestNodeHandler,
    "context": ContextNodeHandler,
    "intelligence": IntelligenceNodeHandler,
    "transform": TransformNodeHandler,
    "condition": ConditionNodeHandler,
    "notify": NotifyNodeHandler,
}


def register_node_handler(node_type: str, handler_class: type[BaseNodeHandler]) -> None:
    """Register (or replace) the handler for a node type."""
    _NODE_HANDLERS[node_type] = handler_class


def get_node_handler(node_type: str) -> BaseNodeHandler:
    """A fresh handler for ``node_type``; ``KeyError`` naming the known types if unknown."""
    if node_type not in _NODE_HANDLERS:
        raise KeyError(f"Unknown node type: {node_type}. Available: {list(_NODE_HANDLERS)}")
    handler = _NODE_HANDLERS[node_type]()
    handler.registered_as = node_type
    return handler


def is_recomputable(node_type: str) -> bool:
    """Whether nodes of this type may be run again at no cost but their time (see
    ``BaseNodeHandler.recomputable``); False for an unknown type."""
    handler = _NODE_HANDLERS.get(node_type)
    return bool(handler and handler.recomputable)


def list_node_types() -> list[str]:
    """Every registered node type, in registry order."""
    return list(_NODE_HANDLERS)


__all__ = [
    "BaseNodeHandler",
    "NodeContext",
    "NodeResult",
    "NodeType",
    "get_node_handler",
    "list_node_types",
    "register_node_handler",
]
