"""Per-source webhook rate limit: a fixed one-minute window, counted where all workers see it.

With a Redis broker the counter lives in Redis (one round trip: a tiny script that increments
and sets the expiry), so every gunicorn worker shares it; without one (the embedded default)
each process counts alone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "alertpipes:webhook-rate"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# A slow Redis must not make the webhook slow; the limit fails open (see ``over_limit``).
_REDIS_TIMEOUT_SECONDS = 0.25

# INCR and EXPIRE in one server-side step: one round trip, and no key without an expiry even
# if the caller dies in between. (A client-side pipeline object costs more CPU than the call.)
_INCR_WITH_EXPIRY = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""

_scripts: dict[str, Any] = {}
_local_counts: dict[tuple[str, int], int] = {}
_local_lock = threading.Lock()


def _script(url: str) -> Any:
    script = _scripts.get(url)
    if script is None:
        client = redis.Redis.from_url(
            url,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
        )
        script = _scripts[url] = client.register_script(_INCR_WITH_EXPIRY)
    return script


def _redis_count(url: str, source: str, minute: int) -> int:
    # Keys outlive their minute briefly so a slow clock on another worker still counts.
    return int(_script(url)(keys=[f"{KEY_PREFIX}:{source}:{minute}"], args=[120]))


def _local_count(source: str, minute: int) -> int:
    with _local_lock:
        for stale in [k for k in _local_counts if k[1] < minute]:
            del _local_counts[stale]
        count = _local_counts.get((source, minute), 0) + 1
        _local_counts[(source, minute)] = count
        return count


def over_limit(source: str) -> int | None:
    """Count one request for ``source``; the seconds to wait if it is over the limit, else None.

    When Redis cannot be reached the request is let through (and logged): refusing alerts
    because the counter is down would lose them, and the run is stored before its publish
    fails, so the request still gets an honest answer (503 with its run id).
    """
    limit = settings.ALERTS_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time()
    minute = int(now // 60)
    url = settings.CELERY_BROKER_URL
    if url.startswith(_REDIS_SCHEMES):
        try:
            count = _redis_count(url, source, minute)
        except redis.RedisError as exc:
            logger.warning(
                "webhook rate limit not checked for %s: Redis unavailable (%s)", source, exc
            )
            return None
    else:
        count = _local_count(source, minute)
    if count <= limit:
        return None
    return max(1, 60 - int(now % 60))


def reset_local_counts() -> None:
    """Forget the in-process counts (tests start each case from zero)."""
    with _local_lock:
        _local_counts.clear()
