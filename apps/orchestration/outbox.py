"""Publishing off the request path: a webhook stores its run and answers; a relay thread of
the same process publishes the entry step moments later.

The run row is the outbox. A webhook's run is stored with no message recorded for its entry
step (``dispatch_expires_at`` empty); the request hands the step to this process's relay
through memory and answers 202 without touching the broker. The relay publishes steps in
batches and then records, in one statement per batch, that their messages exist. Whatever it
could not publish — the broker is down, the queue in memory overflowed, the process died —
stays recorded as unpublished, and the recovery sweep publishes it once its deadline passes
(``PIPELINE_STALL_GRACE_SECONDS``). So a broker outage costs the webhook nothing: it keeps
answering 202 with every alert stored, and the runs start when the broker is back.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction

from apps.orchestration.celery_runner import BROKER_ERRORS, publish_many
from apps.orchestration.engine.runner import Runner, Step

logger = logging.getLogger(__name__)

_BATCH = 200
_CAPACITY = 20_000
_IDLE_SECONDS = 5.0
# After the first step, wait this long for others to join its batch: every batch costs one
# pipelined publish and one UPDATE whatever its size, and batches of one (the relay waking
# for every webhook) spent a third of the web process's CPU on those round trips
# (docs/benchmarks.md). It delays a run's start by at most this much.
_LINGER_SECONDS = 0.02


@dataclass
class OutboxRunner(Runner):
    """Hands the step to this process's relay once the run is committed."""

    def schedule(self, step: Step) -> None:
        transaction.on_commit(lambda: relay().submit(step))

    def records_dispatch(self) -> bool:
        return False  # the relay records it once the message exists


@dataclass
class _Release:
    done: threading.Event


class Relay:
    def __init__(self) -> None:
        self._queue: queue.Queue[Step | _Release] = queue.Queue(maxsize=_CAPACITY)
        self._pid = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.published = 0
        self.deferred = 0  # left to recovery (broker down, overflow)

    def submit(self, step: Step) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait(step)
        except queue.Full:
            # Nothing is lost: the run is stored as unpublished and recovery publishes it.
            self.deferred += 1
            logger.warning("relay queue full; run %s is left to the recovery sweep", step.run_id)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():  # threads and queued steps do not survive fork
                self._pid = os.getpid()
                self._queue = queue.Queue(maxsize=_CAPACITY)
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
                self._thread.start()

    def release(self, timeout: float = 10.0) -> bool:
        """Publish what is queued, then close the relay's database connection now (an
        orderly shutdown; test sessions dropping their database)."""
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            return True
        done = threading.Event()
        self._queue.put(_Release(done))
        return done.wait(timeout)

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                self._idle()
                continue
            if isinstance(first, _Release):
                self._idle()
                first.done.set()
                continue
            time.sleep(_LINGER_SECONDS)
            batch = [first]
            release: _Release | None = None
            while len(batch) < _BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Release):
                    release = item
                    break
                batch.append(item)
            try:
                self._publish(batch)
            except Exception:
                # Never let the relay die: what it did not record is recovery's to publish.
                logger.exception("relay could not publish a batch of %s steps", len(batch))
            if release is not None:
                self._idle()
                release.done.set()

    @staticmethod
    def _idle() -> None:
        try:
            connection.close()  # idle: hold no database connection meanwhile
        except Exception:
            logger.exception("relay could not close its idle database connection")

    def _publish(self, batch: list[Step]) -> None:
        try:
            publish_many(batch)  # one pipelined round trip for the whole batch
        except BROKER_ERRORS as exc:
            self.deferred += len(batch)
            logger.warning(
                "broker unavailable (%s): %s run(s) left to the recovery sweep", exc, len(batch)
            )
            return
        self.published += len(batch)
        _record_published([step.run_id for step in batch])


def _record_published(run_ids: list[str]) -> None:
    """Say the entry steps' messages exist, so recovery treats them as queued, not lost."""
    from apps.orchestration.engine import sql_start

    close_old_connections()
    try:
        sql_start.record_entry_published(run_ids, settings.PIPELINE_MESSAGE_EXPIRY_SECONDS)
    except DatabaseError as exc:
        # Unrecorded, the runs look unpublished: recovery publishes them again once due and
        # the claim makes the duplicate harmless.
        logger.warning("could not record %s published step(s): %s", len(run_ids), exc)


_relay = Relay()


def relay() -> Relay:
    return _relay
