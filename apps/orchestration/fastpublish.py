"""Node steps straight onto a Redis broker: Celery's own message, without Celery's work per
message.

``run_node.apply_async`` cost about 0.45 ms of CPU per message, more than a node's own work
(docs/benchmarks.md). Most of it is not the message: kombu builds a new Redis client object
for every publish (with its table of ~200 response callbacks), then come the producer pool,
the queue's declaration check, a dozen configuration look-ups and the publish signals. Here
the same message is built directly and pushed with one LPUSH on a client kept per process:
Celery's task protocol v2 in kombu's Redis envelope, which is what a worker consumes either
way.

This path is taken only where its message is exactly what Celery would send: a plain
``redis://`` broker whose transport options do not change publishing, JSON tasks without
compression, a direct queue, no task-sent events, no eager mode, and no receivers on
Celery's publish signals (tracing and other instrumentation hook in there, and keep working
through ``apply_async``). Everything else goes through ``apply_async`` as before.
``apps/orchestration/tests/test_fastpublish.py`` publishes the same step both ways and compares
the two messages field by field, so an upgrade of Celery or kombu that changes the format
fails it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import Celery, signals
from celery.utils.nodenames import anon_nodename
from kombu.exceptions import OperationalError
from redis.backoff import NoBackoff
from redis.retry import Retry

# Transport options that change nothing about how a message is pushed. Any other (a key
# prefix, other priority steps or separator, sentinel settings) sends publishing back
# through kombu, which knows what they mean.
_NEUTRAL_TRANSPORT_OPTIONS = frozenset(
    {
        "visibility_timeout",
        "ack_emulation",
        "polling_interval",
        "socket_timeout",
        "socket_connect_timeout",
        "health_check_interval",
    }
)
_PUBLISH_SIGNALS = (signals.before_task_publish, signals.after_task_publish, signals.task_sent)
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


@dataclass(frozen=True)
class Message:
    """One task message: what ``apply_async`` takes, reduced to what the engine sends."""

    task: str
    queue: str
    args: list[Any]
    soft_time_limit: float | None = None
    time_limit: float | None = None
    countdown: float = 0.0
    expires: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    interval_start: float = 0.0
    interval_step: float = 0.2


class Publisher:
    """Pushes messages to one Redis broker. Thread-safe; redis-py's pool reconnects after a
    fork, so a prefork child never writes on its parent's socket."""

    def __init__(self, app: Celery, url: str, options: dict[str, Any]) -> None:
        self._app = app
        self._pool = redis.ConnectionPool.from_url(
            url,
            # kombu sets no timeouts by default; a publish that waits forever on a hung
            # broker would hold a worker (or the relay) with it, so these have bounds.
            socket_connect_timeout=options.get("socket_connect_timeout") or 5.0,
            socket_timeout=options.get("socket_timeout") or 10.0,
            health_check_interval=options.get("health_check_interval", 25),
            # Retries are ours (the caller's policy), not redis-py's own backoff.
            retry=Retry(NoBackoff(), 0),
        )
        self._client = redis.Redis(connection_pool=self._pool)
        self._origin: tuple[int, str] = (0, "")
        self._direct: dict[str, bool] = {}

    def direct(self, queue: str) -> bool:
        """Whether ``queue`` takes messages on the default exchange, as Celery sends them to
        a direct queue (a topic or fanout queue is routed by kombu)."""
        found = self._direct.get(queue)
        if found is None:
            declared = self._app.amqp.queues.get(queue)
            kind = declared.exchange.type if declared is not None else "direct"
            found = self._direct[queue] = kind in ("direct", "", None)
        return found

    def publish(self, messages: list[Message], policy: RetryPolicy) -> list[str]:
        """Push ``messages`` (several: one pipelined round trip) and return their task ids.
        Raises kombu's OperationalError, as ``apply_async`` does, once the policy's retries
        are spent; then, as with kombu, some of the messages may have been pushed."""
        ids, pushes = [], []
        for message in messages:
            task_id = str(uuid.uuid4())
            ids.append(task_id)
            pushes.append((message.queue, self._envelope(message, task_id)))
        for attempt in range(policy.max_retries + 1):
            try:
                self._push(pushes)
                return ids
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if attempt == policy.max_retries:
                    raise OperationalError(f"cannot publish to the broker: {exc}") from exc
                time.sleep(policy.interval_start + attempt * policy.interval_step)
        return ids  # not reached

    def _push(self, pushes: list[tuple[str, str]]) -> None:
        if len(pushes) == 1:
            self._client.lpush(*pushes[0])
            return
        with self._client.pipeline(transaction=False) as pipe:
            for queue, envelope in pushes:
                pipe.lpush(queue, envelope)
            pipe.execute()

    def _envelope(self, message: Message, task_id: str) -> str:
        """The message as kombu's Redis transport stores it (what ``_put`` pushes)."""
        app = self._app
        now = datetime.now(UTC).astimezone(app.timezone)
        eta = expires = expiration = None
        if message.countdown:
            eta = (now + timedelta(seconds=message.countdown)).isoformat()
        if message.expires is not None:
            expires = message.expires.isoformat()
            # Celery passes the seconds left (none when already past) and kombu stores them
            # as whole milliseconds.
            left = max(0.0, (message.expires - now).total_seconds())
            expiration = str(int(left * 1000))
        root_id, parent_id = task_id, None
        parent = app.current_worker_task
        if parent is not None:
            # As Celery does: Flower shows a run's nodes as one tree of tasks.
            root_id = parent.request.root_id or parent.request.id
            parent_id = parent.request.id
        argsrepr = repr(message.args)
        headers = {
            "lang": "py",
            "task": message.task,
            "id": task_id,
            "shadow": None,
            "eta": eta,
            "expires": expires,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [message.time_limit, message.soft_time_limit],
            "root_id": root_id,
            "parent_id": parent_id,
            "argsrepr": argsrepr,
            "kwargsrepr": "{}",
            "origin": self._origin_name(),
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        }
        properties: dict[str, Any] = {
            "correlation_id": task_id,
            "reply_to": app.thread_oid,
            "argsrepr": argsrepr,
            "kwargsrepr": "{}",
            "delivery_mode": 2,
        }
        if expiration is not None:
            properties["expiration"] = expiration
        properties |= {
            "delivery_info": {"exchange": "", "routing_key": message.queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        }
        body = json.dumps([message.args, {}, _EMBED]).encode()
        return json.dumps(
            {
                "body": base64.b64encode(body).decode(),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": headers,
                "properties": properties,
            }
        )

    def _origin_name(self) -> str:
        pid = os.getpid()
        if self._origin[0] != pid:  # a forked child is another origin
            self._origin = (pid, anon_nodename())
        return self._origin[1]


_lock = threading.Lock()
_UNSET: Any = object()
_publishers: dict[tuple[str, str], Publisher | None] = {}


def publisher(app: Celery, queue: str) -> Publisher | None:
    """The direct publisher for ``queue`` on ``app``'s broker, or None where only
    ``apply_async`` sends exactly the right message."""
    if _publish_hooked():
        return None
    conf = app.conf
    url = conf.broker_url or ""
    options = conf.broker_transport_options or {}
    # The rest of the configuration is read once per broker: it does not change while a
    # process runs, and reading it for every message cost as much as building the message.
    key = (url, repr(sorted(options.items())))
    found = _publishers.get(key, _UNSET)
    if found is _UNSET:
        with _lock:
            found = _publishers.get(key, _UNSET)
            if found is _UNSET:
                usable = _plain_redis(url) and _neutral(conf, options)
                found = _publishers[key] = Publisher(app, url, options) if usable else None
    if found is None or not found.direct(queue):
        return None
    return found


def _plain_redis(url: str) -> bool:
    # rediss:// (TLS settings), sockets and failover lists (";") stay with kombu.
    return url.startswith("redis://") and ";" not in url


def _neutral(conf: Any, options: dict[str, Any]) -> bool:
    return (
        set(options) <= _NEUTRAL_TRANSPORT_OPTIONS
        and conf.task_serializer == "json"
        and not conf.task_compression
        and int(conf.task_protocol) == 2
        and not conf.task_send_sent_event
        and not conf.task_always_eager
        and not conf.broker_use_ssl
        and conf.task_default_delivery_mode in (2, "persistent")
    )


def _publish_hooked() -> bool:
    return any(signal.receivers for signal in _PUBLISH_SIGNALS)
