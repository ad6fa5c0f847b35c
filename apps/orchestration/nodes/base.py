"""The node contract: every node type implements ``BaseNodeHandler.execute``."""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from apps.monitoring import metrics


class NodeType(Enum):
    """Types of nodes in a pipeline."""

    INGEST = "ingest"  # alert ingestion (creates Incident/Alert)
    CONTEXT = "context"  # system context and health checks
    INTELLIGENCE = "intelligence"  # analysis providers
    NOTIFY = "notify"  # notification channels
    TRANSFORM = "transform"  # data transformation
    CONDITION = "condition"  # declarative branching


@dataclass
class NodeContext:
    """What a node sees: the run's identity, its input and every earlier node's output."""

    trace_id: str
    run_id: str
    incident_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    previous_outputs: dict[str, Any] = field(default_factory=dict)
    environment: str = "production"
    source: str = "unknown"
    node_id: str = ""
    attempt: int = 1
    # The engine's claim on this execution: side effects (the notify ledger) are fenced by it,
    # so a worker taken for dead can no longer record anything.
    claim_token: str = ""
    timeout: float = 0.0
    # The run's frozen definition, as the engine loaded it with the run (None when a node is
    # called on its own): nodes that need the run's settings read them here, not again.
    run_config: dict[str, Any] | None = None
    definition_id: int | None = None
    definition_name: str = ""
    # How many times a worker started this attempt (0: unknown). 1 on attempt 1: nothing of
    # this node can have been stored before, so there is nothing earlier to look for.
    starts: int = 0

    def get_previous(self, node_id: str) -> dict[str, Any]:
        """Output of an earlier node (empty when it did not run)."""
        return self.previous_outputs.get(node_id, {})

    def incident_summary(self) -> dict[str, Any] | None:
        """This run's incident as later nodes show it, read once per run: the copy the
        ingest node made (``incident_summary`` in its output), else from the database."""
        if self.incident_id is None:
            return None
        for output in self.previous_outputs.values():
            summary = output.get("incident_summary") if isinstance(output, dict) else None
            if isinstance(summary, dict) and summary.get("id") == self.incident_id:
                return summary
        from apps.alerts.services import incident_summary

        return incident_summary(self.incident_id)


@dataclass
class NodeResult:
    """What a node produced: JSON-serialisable output, and errors if it failed.

    Errors listed here are permanent (a retry would not help); transient failures are raised
    as ``RetryableNodeError`` instead. A condition node sets ``next_node`` to pick the branch.
    """

    node_id: str
    node_type: str
    output: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    skipped: bool = False
    skip_reason: str = ""
    next_node: str | None = None

    @property
    def has_errors(self) -> bool:
        return len(self.errors) > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "output": self.output,
            "errors": self.errors,
            "duration_ms": self.duration_ms,
            "skipped": self.skipped,
            "skip_reason": self.skip_reason,
        }


def _timed(execute: Callable[..., NodeResult]) -> Callable[..., NodeResult]:
    """``execute`` timed for /metrics (node duration by type and outcome, retries): the edge
    where every node passes, whoever runs it. Costs a few microseconds per node."""

    @functools.wraps(execute)
    def timed(self: BaseNodeHandler, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        if self._timing:  # a subclass's execute calling its parent's: count the node once
            return execute(self, ctx, config)
        self._timing = True
        started = time.perf_counter()
        outcome = "raised"
        try:
            result = execute(self, ctx, config)
            outcome = "error" if getattr(result, "errors", None) else "ok"
            return result
        finally:
            self._timing = False
            metrics.observe_node(
                self.registered_as or self.name, time.perf_counter() - started, outcome, ctx.attempt
            )

    timed._timed = True  # type: ignore[attr-defined]
    return timed


class BaseNodeHandler(ABC):
    """One node type. Handlers are stateless; the engine builds one per execution."""

    node_type: NodeType = NodeType.CONTEXT
    name: str = "base"
    # The type this handler was looked up by (``get_node_handler``): the metrics' label.
    registered_as: str = ""
    # True when the output is a function of the run's payload and earlier outputs alone and
    # running the node has no effect outside its own result (nothing sent, nothing stored):
    # the engine then commits the outcome without waiting for its WAL to reach the disk,
    # since losing it to a crash of PostgreSQL only means computing it again
    # (docs/architecture.md, "Durability of a node's outcome"). False unless a handler says.
    recomputable: bool = False
    _timing: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("execute")
        if own is not None and not getattr(own, "_timed", False):
            cls.execute = _timed(own)  # type: ignore[method-assign]

    @abstractmethod
    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        """Run the node.

        Returns a ``NodeResult`` whose ``output`` later nodes read by this node's id. Put
        permanent failures in ``errors``; raise ``apps.orchestration.errors.NodeError`` (with
        ``retryable=True`` for transient ones) when the engine should decide about a retry.
        ``config`` is the node's ``config`` object with ``id`` added.
        """

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        """Problems with ``config`` as human-readable messages (empty when valid)."""
        return []

    def result(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        """An empty result for this node, for handlers to fill in."""
        return NodeResult(node_id=config.get("id", ctx.node_id or self.name), node_type=self.name)
