"""The embedded default (no broker): nodes run on this process's own threads, after commit.

A webhook stores its run, commits, answers 202 and only then does a thread of this process
run the nodes, so no notification is ever sent from a transaction that can still roll back
and the sender never waits for the pipeline. Retry backoff waits on a timer, not in a
request. A sweeper thread runs the same recovery as beat does with a broker: a run that was
interrupted (the process restarted mid-run) is picked up again when the web process starts
and every ``PIPELINE_RECOVERY_INTERVAL_SECONDS`` after. ``manage.py recover_runs`` does one
sweep by hand.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from apps.orchestration.engine.runner import Runner, Step

logger = logging.getLogger(__name__)


@dataclass
class BackgroundRunner(Runner):
    """Runs each step on this process's executor once the scheduling transaction commits."""

    def schedule(self, step: Step) -> None:
        transaction.on_commit(lambda: executor().submit(step))

    _backlog: int | None = None

    def backlog(self, step: Step) -> int | None:
        # One snapshot per runner (recovery uses one per sweep): the steps this sweep itself
        # hands on must not make the next stalled run look queued.
        if self._backlog is None:
            self._backlog = executor().pending
        return self._backlog


class Executor:
    """A small thread pool per process (re-created after a fork) plus the recovery sweeper."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._stopped = threading.Event()
        self.pending = 0

    def start(self) -> None:
        """Start the threads of this process (idempotent); the sweeper runs at once."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.pending = 0
            self._pool = ThreadPoolExecutor(
                max_workers=settings.PIPELINE_EMBEDDED_THREADS, thread_name_prefix="pipeline"
            )
        threading.Thread(target=self._sweep_forever, name="pipeline-recovery", daemon=True).start()

    def submit(self, step: Step) -> None:
        self.start()
        if step.countdown > 0:
            timer = threading.Timer(step.countdown, self._enqueue, [step])
            timer.daemon = True
            with self._lock:
                self.pending += 1  # a waiting retry counts as work to be done
            timer.start()
            return
        with self._lock:
            self.pending += 1
        self._enqueue(step)

    def _enqueue(self, step: Step) -> None:
        assert self._pool is not None
        self._pool.submit(self._run, step)

    def _run(self, step: Step) -> None:
        from apps.orchestration import engine

        try:
            close_old_connections()
            engine.process_node(step.run_id, step.node["id"], step.attempt, BackgroundRunner())
        except Exception:
            # Nothing was moved on: the run's deadline passes and the sweeper retries it.
            logger.exception("in-process step %s of run %s failed", step.node["id"], step.run_id)
        finally:
            connection.close()
            with self._lock:
                self.pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no step is queued or running here (tests, and an orderly shutdown)."""
        end = time.monotonic() + timeout
        with self._lock:
            while self.pending:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, stop the sweeper (an orderly shutdown, and tests)."""
        self._stopped.set()
        self.wait_idle(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _sweep_forever(self) -> None:
        from apps.monitoring import heartbeat
        from apps.orchestration import engine

        while not self._stopped.is_set():
            try:
                recovered = len(engine.recover_stalled_runs(BackgroundRunner()))
                heartbeat.beat(heartbeat.RECOVERY, f"in-process sweeper, {recovered} recovered")
            except Exception:
                logger.exception("in-process recovery sweep failed; trying again later")
            finally:
                connection.close()
            self._stopped.wait(settings.PIPELINE_RECOVERY_INTERVAL_SECONDS)


_executor = Executor()


def executor() -> Executor:
    return _executor


def start_if_embedded() -> None:
    """Called by the WSGI entry point: without a broker, start the threads (and the first
    recovery sweep) with the web process, not on its first request."""
    if not settings.CELERY_BROKER_URL and settings.PIPELINE_EMBEDDED_EXECUTION == "background":
        executor().start()
