"""Lease renewal while a node runs: a slow node keeps its claim, a dead worker loses it fast.

A claim's lease is short (``PIPELINE_LEASE_SECONDS``, 30 s by default) so that recovery can
hand a killed worker's node to another within about a minute. While the node runs, one
daemon thread per process renews the lease of every claim the process holds, every third of
the lease. Nodes that finish within that third (nearly all) cost no renewal at all.

Renewal stops at the node's hard time limit: a node still running then is stuck where no
signal reaches it (a thread pool has no hard limit), and another worker may take it over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DatabaseError, connection

from apps.orchestration.engine import sql

logger = logging.getLogger(__name__)


@dataclass
class Held:
    execution_id: int
    token: str
    lease: float
    next_renewal: float
    stop_at: float
    lost: bool = False


class Heartbeat:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[int, str], Held] = {}
        self._wake = threading.Event()
        self._pid = 0
        self._connected = False
        self.renewals = 0  # for tests and the metrics

    @contextlib.contextmanager
    def hold(self, execution_id: int, token: str, *, lease: float, limit: float) -> Iterator[Held]:
        """Renew the lease of (``execution_id``, ``token``) until the block ends or ``limit``
        seconds have passed."""
        now = time.monotonic()
        held = Held(execution_id, token, lease, now + lease / 3, now + limit)
        key = (execution_id, token)
        with self._lock:
            self._ensure_thread()
            self._held[key] = held
        if lease / 3 < 1.0:
            # The loop sleeps up to a second: wake it only when this renewal falls due
            # sooner (short test leases). Waking it for every node would cost each node a
            # thread switch for nothing.
            self._wake.set()
        try:
            yield held
        finally:
            with self._lock:
                self._held.pop(key, None)

    def _ensure_thread(self) -> None:
        # Threads do not survive fork: a prefork pool child starts its own.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            thread = threading.Thread(target=self._loop, name="lease-heartbeat", daemon=True)
            thread.start()

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            with self._lock:
                due = [h for h in self._held.values() if h.next_renewal <= now]
                waits = [h.next_renewal - now for h in self._held.values() if h.next_renewal > now]
            for held in due:
                self._renew(held, now)
            if self._connected and not self._held:
                # Nothing left to renew: do not sit on a database connection meanwhile.
                connection.close()
                self._connected = False
            self._wake.wait(min([1.0, *waits]))
            self._wake.clear()

    def _renew(self, held: Held, now: float) -> None:
        if now >= held.stop_at:
            logger.warning(
                "execution %s passed its hard time limit; no longer renewing its lease",
                held.execution_id,
            )
            self._drop(held)
            return
        try:
            connection.close_if_unusable_or_obsolete()
            self._connected = True
            renewed = sql.renew_lease(held.execution_id, held.token, held.lease)
        except DatabaseError as exc:
            # The database is away: try again soon; the lease may lapse meanwhile, which is
            # what it is for (nobody can tell this worker from a dead one).
            logger.warning("could not renew lease of execution %s: %s", held.execution_id, exc)
            held.next_renewal = now + 1.0
            return
        if not renewed:
            logger.warning("execution %s lost its claim to another worker", held.execution_id)
            held.lost = True
            self._drop(held)
            return
        self.renewals += 1
        held.next_renewal = now + held.lease / 3

    def _drop(self, held: Held) -> None:
        with self._lock:
            self._held.pop((held.execution_id, held.token), None)


heartbeat = Heartbeat()
