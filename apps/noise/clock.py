"""The clock noise decisions read: the system's, or one a test sets and moves by hand.

Every decision takes "now" from here (or an explicit ``now`` argument), never from
``timezone.now()`` directly, so scenario tests can run a simulated day in a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone


class Clock:
    """The system clock (aware UTC)."""

    def now(self) -> datetime:
        return timezone.now()


class ManualClock(Clock):
    """A clock that stands still until ``advance``/``set`` moves it (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``); returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


_SYSTEM = Clock()
_current: Clock = _SYSTEM


def now() -> datetime:
    """The current time of the active clock."""
    return _current.now()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the active clock for every thread until the block ends.

    Process-wide on purpose: the webhook, the node handlers and the sweeps a scenario test
    drives all run in this process and must agree on the time.
    """
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
