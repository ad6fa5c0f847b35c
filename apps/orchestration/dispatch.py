"""Where the next node runs: on a Celery worker (a broker is configured) or in-process.

The engine never calls Celery directly. It hands each ``Step`` ("run node X, attempt N, after
S seconds") to a ``Runner``: ``CeleryRunner`` publishes a task once the transaction that
recorded the step commits; ``InlineRunner`` queues it for the in-process loop.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

# Publishing must not hang a webhook when Redis is down: fail fast. The run is already stored
# and the recovery task re-enqueues it once the broker answers again.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}


# What publishing to an unreachable broker raises (kombu wraps most of it after its retries).
BROKER_ERRORS = (KombuOperationalError, redis.ConnectionError, redis.TimeoutError)


def broker_configured() -> bool:
    """True when nodes run as Celery tasks; False is the embedded in-process default."""
    return bool(settings.CELERY_BROKER_URL)


@dataclass(frozen=True)
class Step:
    run_id: str
    node: dict[str, Any]
    attempt: int
    timeout: float
    countdown: float = 0.0


@dataclass
class Runner:
    """Schedules node executions and says who is executing the current one."""

    task_id: str = ""
    worker: str = ""
    redelivered: bool = False

    def schedule(self, step: Step) -> None:
        raise NotImplementedError


@dataclass
class CeleryRunner(Runner):
    # In a worker a failed publish is not the task's failure: the step is stored and the
    # recovery task publishes it once the broker is back. Callers that must answer for the
    # publish (a webhook's 503) keep the exception.
    tolerate_broker_errors: bool = False

    def schedule(self, step: Step) -> None:
        transaction.on_commit(lambda: self._publish(step))

    def _publish(self, step: Step) -> None:
        try:
            publish(step)
        except BROKER_ERRORS as exc:
            if not self.tolerate_broker_errors:
                raise
            logger.warning(
                "could not publish %s attempt %s of run %s (%s); recovery will publish it",
                step.node["id"],
                step.attempt,
                step.run_id,
                exc,
            )


@dataclass
class InlineRunner(Runner):
    pending: deque[Step] = field(default_factory=deque)

    def schedule(self, step: Step) -> None:
        self.pending.append(step)


def publish(step: Step) -> str:
    """Send one node execution to its queue; returns the Celery task id."""
    from apps.orchestration.tasks import run_node
    from workers.app import queue_for_node

    result = run_node.apply_async(
        args=[step.run_id, step.node["id"], step.attempt],
        queue=queue_for_node(step.node["type"], step.node.get("queue")),
        countdown=step.countdown or None,
        soft_time_limit=step.timeout,
        # The hard limit kills a node that ignores the soft one; the lease then lapses and
        # the recovery task hands the node to another worker.
        time_limit=step.timeout + 30,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
    )
    logger.debug("published %s attempt %s as task %s", step.node["id"], step.attempt, result.id)
    return result.id


def runner_for_start() -> Runner:
    return CeleryRunner() if broker_configured() else InlineRunner()
