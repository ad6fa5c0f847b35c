"""Per-source webhook rate limit: a fixed one-minute window, with no round trip per request.

Each process counts its own requests in memory and decides at once from what it counted plus
the shared total it last heard. With a Redis broker a sync thread adds the process's counts
to a shared counter in Redis every ``_SYNC_SECONDS`` (one pipelined round trip for every
source at once, off the request path) and brings back the total all processes reached, so
every gunicorn worker enforces one limit, give or take the requests of one sync interval.
Without one (the embedded default) each process counts alone.

When Redis cannot be reached the limit is enforced per process only (and logged): refusing
alerts because the counter is down would lose them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "alertpipes:webhook-rate"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_REDIS_TIMEOUT_SECONDS = 0.5
_SYNC_SECONDS = 0.1

# INCRBY and EXPIRE in one server-side step, so no key is left without an expiry.
_INCR_WITH_EXPIRY = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return count
"""

Key = tuple[str, int]  # (source, minute)


class Counter:
    def __init__(self, *, background: bool = True) -> None:
        self._background = background  # False: only explicit sync() calls share (tests)
        self._lock = threading.Lock()
        self._unsent: dict[Key, int] = {}  # counted here, not yet added to the shared total
        self._shared: dict[Key, int] = {}  # the shared total at the last sync (ours included)
        self._local: dict[Key, int] = {}  # everything counted here (the fallback)
        self._wake = threading.Event()
        self._pid = 0
        self._clients: dict[str, Any] = {}

    def count(self, source: str, minute: int, url: str) -> int:
        """Count one request; the window's total as far as this process knows."""
        key = (source, minute)
        if url and self._background:
            self._ensure_thread()
        with self._lock:
            self._forget_before(minute)
            self._local[key] = self._local.get(key, 0) + 1
            if not url:
                return self._local[key]
            self._unsent[key] = self._unsent.get(key, 0) + 1
            total = self._shared.get(key, 0) + self._unsent[key]
        self._wake.set()
        return total

    def reset(self) -> None:
        with self._lock:
            self._unsent.clear()
            self._shared.clear()
            self._local.clear()

    def _forget_before(self, minute: int) -> None:
        for table in (self._unsent, self._shared, self._local):
            for stale in [k for k in table if k[1] < minute - 1]:
                del table[stale]

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # threads do not survive fork
                self._pid = os.getpid()
                self._unsent.clear()
                threading.Thread(target=self._sync_forever, name="rate-sync", daemon=True).start()

    def _sync_forever(self) -> None:
        while True:
            # While a window is open, keep learning the others' counts even when idle here.
            self._wake.wait(_SYNC_SECONDS if self._shared else None)
            self._wake.clear()
            url = settings.CELERY_BROKER_URL  # read each time: settings may change
            if not url.startswith(_REDIS_SCHEMES):
                continue
            try:
                self.sync(url)
            except redis.RedisError as exc:
                logger.warning(
                    "webhook rate limit counted per process: Redis unavailable (%s)", exc
                )
                time.sleep(1.0)
            time.sleep(_SYNC_SECONDS)

    def sync(self, url: str) -> None:
        """Add this process's counts to the shared ones and learn the totals (with nothing
        to add, just learn them: other processes keep counting)."""
        with self._lock:
            self._forget_before(int(time.time() // 60))  # past windows: stop following them
            batch, self._unsent = self._unsent, {}
            known = list(self._shared)
        client, script = self._client(url)
        if not batch:
            if known:
                values = client.mget([f"{KEY_PREFIX}:{s}:{m}" for s, m in known])
                with self._lock:
                    for key, value in zip(known, values, strict=True):
                        self._shared[key] = int(value or 0)
            return
        pipe = client.pipeline(transaction=False)
        keys = list(batch)
        for source, minute in keys:
            # Keys outlive their minute briefly so a slow clock on another worker still counts.
            script(keys=[f"{KEY_PREFIX}:{source}:{minute}"], args=[batch[(source, minute)], 120],
                   client=pipe)  # fmt: skip
        try:
            totals = pipe.execute()
        except redis.RedisError:
            with self._lock:  # not counted there: send it again next time
                for key, n in batch.items():
                    self._unsent[key] = self._unsent.get(key, 0) + n
            raise
        with self._lock:
            for key, total in zip(keys, totals, strict=True):
                self._shared[key] = int(total)

    def _client(self, url: str) -> tuple[Any, Any]:
        found = self._clients.get(url)
        if found is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            found = self._clients[url] = (client, client.register_script(_INCR_WITH_EXPIRY))
        return found


_counter = Counter()


def over_limit(source: str) -> int | None:
    """Count one request for ``source``; the seconds to wait if it is over the limit, else None."""
    limit = settings.ALERTS_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time()
    minute = int(now // 60)
    url = settings.CELERY_BROKER_URL
    count = _counter.count(source, minute, url if url.startswith(_REDIS_SCHEMES) else "")
    if count <= limit:
        return None
    return max(1, 60 - int(now % 60))


def sync_now() -> None:
    """Share this process's counts at once (tests; the thread does it within 0.1 s)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(_REDIS_SCHEMES):
        _counter.sync(url)


def reset_local_counts() -> None:
    """Forget the in-process counts (tests start each case from zero)."""
    _counter.reset()
