"""A node's timeout when it runs in-process.

On a worker Celery's ``soft_time_limit`` interrupts the node. In-process (CLI, embedded
default) we use ``SIGALRM``, which only the main thread can receive; elsewhere the handler's own
I/O timeouts have to do.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from apps.orchestration.errors import NodeTimeoutError


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise NodeTimeoutError(f"node exceeded its timeout of {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
