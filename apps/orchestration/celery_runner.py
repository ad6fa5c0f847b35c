"""Steps as Celery tasks: ``CeleryRunner`` publishes each step once its transaction commits.

It lives beside the task module (``tasks.py``) rather than in the engine: the engine knows
only the ``Runner`` contract.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction
from kombu.exceptions import ChannelError
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.orchestration import fastpublish
from apps.orchestration.engine.policy import hard_limit_margin
from apps.orchestration.engine.runner import Runner, Step

logger = logging.getLogger(__name__)

# Publishing must not hang a webhook when Redis is down: fail fast. The run is already stored
# and the recovery task re-enqueues it once the broker answers again.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}

# What publishing to an unreachable broker raises (kombu wraps most of it after its retries).
BROKER_ERRORS = (KombuOperationalError, redis.ConnectionError, redis.TimeoutError)

RUN_NODE_TASK = "orchestration.run_node"


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
            from apps.orchestration.engine import sql_start

            # Otherwise recovery would take the lost message for one queued behind others.
            sql_start.record_unpublished(step.run_id, step.node["id"], step.attempt)

    def backlog(self, step: Step) -> int | None:
        """Messages waiting in the step's queue (not those a worker already reserved)."""
        return queue_length(queue_for(step))

    def max_countdown(self) -> float | None:
        # Redis hands a message it has held past the visibility timeout to another worker;
        # a countdown must end well before that.
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
        return float(min(settings.PIPELINE_MAX_BROKER_COUNTDOWN_SECONDS, visibility / 2))


def queue_for(step: Step) -> str:
    from workers.app import queue_for_node

    return queue_for_node(step.node["type"], step.node.get("queue"))


def queue_length(queue: str) -> int | None:
    """How many messages wait in ``queue``, or None when the broker cannot say."""
    from workers.app import app

    try:
        with app.connection_for_read() as conn, conn.channel() as channel:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:
        return 0  # Redis deletes an emptied list: "no such queue" means nothing waits
    except (*BROKER_ERRORS, OSError) as exc:
        logger.warning("cannot read the length of queue %s: %s", queue, exc)
        return None


def publish_many(steps: list[Step]) -> None:
    """Send several node executions at once: one Redis pipeline instead of a round trip
    each. All or nothing as far as the caller can tell: on an error none of them counts as
    published (recovery publishes what was not)."""
    from workers.app import app

    messages = [_message(step) for step in steps]
    direct = fastpublish.publisher(app, messages[0].queue) if messages else None
    if direct is not None and all(direct.direct(m.queue) for m in messages[1:]):
        direct.publish(messages, _RETRY)
        return
    with app.producer_or_acquire() as producer, producer.batch(max_size=max(1, len(steps))):
        for message in messages:
            _apply_async(message, producer)


def publish(step: Step) -> str:
    """Send one node execution to its queue; returns the Celery task id."""
    from workers.app import app

    message = _message(step)
    direct = fastpublish.publisher(app, message.queue)
    task_id = direct.publish([message], _RETRY)[0] if direct else _apply_async(message)
    logger.debug("published %s attempt %s as task %s", step.node["id"], step.attempt, task_id)
    return task_id


_RETRY = fastpublish.RetryPolicy(**PUBLISH_RETRY_POLICY)


def _message(step: Step) -> fastpublish.Message:
    return fastpublish.Message(
        task=RUN_NODE_TASK,
        queue=queue_for(step),
        args=[step.run_id, step.node["id"], step.attempt],
        soft_time_limit=step.timeout,
        # The hard limit kills a node that ignores the soft one; its lease then lapses and
        # the recovery task records the timeout.
        time_limit=step.timeout + hard_limit_margin(),
        countdown=step.countdown,
        # After this a worker discards the message; recovery publishes the step anew.
        expires=step.expires,
    )


def _apply_async(message: fastpublish.Message, producer: object | None = None) -> str:
    """The same message through Celery's own publishing (brokers and settings the direct
    path does not cover)."""
    from apps.orchestration.tasks import run_node

    result = run_node.apply_async(
        args=message.args,
        # Given, so Celery does not build them with its (slow) saferepr for every message.
        argsrepr=repr(message.args),
        kwargsrepr="{}",
        queue=message.queue,
        countdown=message.countdown or None,
        expires=message.expires,
        soft_time_limit=message.soft_time_limit,
        time_limit=message.time_limit,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
        producer=producer,
    )
    return result.id
