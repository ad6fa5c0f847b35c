"""A node's retry and timeout policy, and the engine's lease and recovery settings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from apps.orchestration.engine.runner import Step
from apps.orchestration.graph import node_index

DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_BACKOFF_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class NodePolicy:
    """The node's own settings, else the definition's ``defaults``, else ours."""

    max_retries: int
    timeout: float
    backoff: float
    backoff_max: float

    @classmethod
    def of(cls, config: dict[str, Any], node: dict[str, Any]) -> NodePolicy:
        defaults = config.get("defaults") or {}

        def pick(key: str, fallback: float) -> Any:
            return node.get(key, defaults.get(key, fallback))

        return cls(
            max_retries=int(pick("max_retries", DEFAULT_MAX_RETRIES)),
            timeout=float(pick("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
            backoff=float(pick("retry_backoff_seconds", DEFAULT_BACKOFF_SECONDS)),
            backoff_max=float(pick("retry_backoff_max_seconds", DEFAULT_BACKOFF_MAX_SECONDS)),
        )

    def delay_before(self, attempt: int) -> float:
        """Exponential backoff with jitter before ``attempt`` (2, 3, ...): a random delay in
        [c/2, c] where c = backoff * 2^(attempt-2), capped at ``backoff_max``."""
        ceiling = min(self.backoff_max, self.backoff * (2 ** (attempt - 2)))
        return random.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0

    @property
    def hard_limit(self) -> float:
        """When a worker kills the node outright (the soft limit raised and was ignored)."""
        return self.timeout + hard_limit_margin()


def hard_limit_margin() -> float:
    """How long after its soft time limit a node that ignores it is killed."""
    return float(settings.PIPELINE_HARD_LIMIT_MARGIN_SECONDS)


def grace() -> timedelta:
    """How long a published step may wait unanswered before recovery looks at it."""
    return timedelta(seconds=settings.PIPELINE_STALL_GRACE_SECONDS)


def lease_seconds() -> float:
    """How long a claim lives without a heartbeat: a dead worker's node is taken over
    within about this long plus one recovery interval."""
    return float(settings.PIPELINE_LEASE_SECONDS)


def max_starts() -> int:
    """Starts of one attempt without an outcome before the engine fails it."""
    return int(settings.PIPELINE_NODE_MAX_STARTS)


def message_expiry() -> timedelta:
    """How long a published step stays runnable; recovery publishes it anew afterwards."""
    return timedelta(seconds=settings.PIPELINE_MESSAGE_EXPIRY_SECONDS)


def step_for(
    run_id: str,
    config: dict[str, Any],
    node_id: str,
    attempt: int,
    countdown: float = 0.0,
    expires: datetime | None = None,
) -> Step:
    node = node_index(config["nodes"])[node_id]
    timeout = NodePolicy.of(config, node).timeout
    return Step(run_id, node, attempt, timeout, countdown, expires)
