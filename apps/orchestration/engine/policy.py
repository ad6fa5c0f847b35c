"""A node's retry and timeout policy, and the grace period the recovery task allows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings

from apps.orchestration.dispatch import Step
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


def grace() -> timedelta:
    """How long a step may go unanswered (queued, or past its timeout) before recovery."""
    return timedelta(seconds=settings.PIPELINE_STALL_GRACE_SECONDS)


def step_for(
    run_id: str, config: dict[str, Any], node_id: str, attempt: int, countdown: float = 0.0
) -> Step:
    node = node_index(config["nodes"])[node_id]
    return Step(run_id, node, attempt, NodePolicy.of(config, node).timeout, countdown)
