"""What the broker and the workers say: queue depth per node queue, workers answering a ping,
and whether beat's recovery task still ticks. Short, cached, and never raising: the dashboard
must render while Redis is down (that is when it is needed most)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import ChannelError

from apps.monitoring import heartbeat
from apps.orchestration.celery_runner import BROKER_ERRORS
from apps.orchestration.dispatch import broker_configured

logger = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 0.5
PING_CACHE_SECONDS = 15
# Beat runs the recovery task every PIPELINE_RECOVERY_INTERVAL_SECONDS; missing this many
# ticks in a row means beat (or the worker on the maintenance queue) is gone.
MISSED_TICKS = 3


def node_queues() -> list[str]:
    from workers.app import EXTRA_NODES_QUEUE, NODE_QUEUE_PREFIX, NODE_TYPES_WITH_QUEUES

    return [NODE_QUEUE_PREFIX + t for t in NODE_TYPES_WITH_QUEUES] + [EXTRA_NODES_QUEUE]


def queue_depths() -> dict[str, int | None]:
    """Messages waiting in each node queue (None: the broker cannot say; empty: no broker).
    One connection for all queues."""
    if not broker_configured():
        return {}
    from workers.app import app

    depths: dict[str, int | None] = dict.fromkeys(node_queues())
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
            for queue in depths:
                with conn.channel() as channel:
                    try:
                        depths[queue] = int(
                            channel.queue_declare(queue=queue, passive=True).message_count
                        )
                    except ChannelError:
                        depths[queue] = 0  # Redis deletes an emptied list: nothing waits
    except (*BROKER_ERRORS, OSError) as exc:
        logger.warning("cannot read queue depths: %s", exc)
    return depths


def workers_answering() -> list[str] | None:
    """Names of the workers that answered a ping (cached briefly; None: no broker, or the
    broker cannot be reached)."""
    if not broker_configured():
        return None
    cached = cache.get("monitoring:workers")
    if cached is not None:
        return cached["names"]
    from workers.app import app

    try:
        replies = app.control.inspect(timeout=PING_TIMEOUT_SECONDS).ping() or {}
    except (*BROKER_ERRORS, OSError) as exc:
        logger.warning("cannot ping the workers: %s", exc)
        return None
    names = sorted(replies)
    cache.set("monitoring:workers", {"names": names}, PING_CACHE_SECONDS)
    return names


@dataclass
class BeatStatus:
    last_tick: datetime | None
    age_seconds: float | None
    detail: str
    alive: bool
    expected_every: int


def beat_status() -> BeatStatus:
    """The recovery task's last tick (beat with a broker; the in-process sweeper without)."""
    every = settings.PIPELINE_RECOVERY_INTERVAL_SECONDS
    found = heartbeat.last(heartbeat.RECOVERY)
    age = heartbeat.age_seconds(heartbeat.RECOVERY)
    return BeatStatus(
        last_tick=found.at if found else None,
        age_seconds=age,
        detail=found.detail if found else "",
        alive=age is not None and age <= every * MISSED_TICKS,
        expected_every=every,
    )
