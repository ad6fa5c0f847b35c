"""Noise tests: webhook credentials, a simulated clock, a loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.alerts.tests.conftest import HMAC_SECRET, WEBHOOK_TOKEN
from apps.noise import clock
from apps.noise.tests.support import START, MessageSink


@pytest.fixture(autouse=True)
def _webhook_credentials(settings) -> None:
    from apps.alerts.webhooks import ratelimit

    settings.ALERTS_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.ALERTS_WEBHOOK_HMAC_SECRET = HMAC_SECRET
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 0
    ratelimit.reset_local_counts()


@pytest.fixture
def sim_clock() -> Iterator[clock.ManualClock]:
    """A clock that moves only when the test says (a simulated day runs in seconds)."""
    manual = clock.ManualClock(START)
    with clock.use(manual):
        yield manual


@pytest.fixture
def sink() -> Iterator[MessageSink]:
    receiver = MessageSink()
    yield receiver
    receiver.close()


@pytest.fixture
def simulated(settings, sim_clock):
    """Simulated time runs far faster than the real clock the dedup window is measured on:
    without this, every re-push would be a dedup replay and never reach the change gate."""
    settings.ALERTS_DEDUP_WINDOW_SECONDS = 0
    return sim_clock
