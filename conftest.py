"""Test-wide fixtures: real Redis, real PostgreSQL and real Celery worker processes.

Integration tests (marked ``integration``) need Redis and PostgreSQL. Locally they skip when
either is missing; with ``REQUIRE_INTEGRATION=1`` (CI) a missing service fails the run instead,
so CI can never pass by skipping them.
"""

from __future__ import annotations

import pytest

from tests.support.services import postgres_available, redis_available, require_or_skip

# The outbound guard's fixtures (listener, firewall, resolver) for any test that attacks it.
pytest_plugins = ["tests.support.network", "tests.support.web"]


def pytest_configure(config: pytest.Config) -> None:
    """Pages rendered in this process find static files where they are (app folders): the
    manifest storage of production needs a collectstatic first. The servers that tests start
    (tests/support/web.py) run collectstatic and use the production storage."""
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # whitenoise serves them from there too (as with DEBUG), not from a collected folder.
    settings.STATIC_ROOT = None
    settings.WHITENOISE_USE_FINDERS = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = [item for item in items if item.get_closest_marker("integration")]
    if not needs:
        return
    reasons = []
    if not redis_available():
        reasons.append("Redis on CELERY_BROKER_URL/TEST_REDIS_URL is not reachable")
    if not postgres_available():
        reasons.append("DATABASE_URL does not point at a reachable PostgreSQL")
    if reasons:
        for item in needs:
            require_or_skip(item, "; ".join(reasons))


@pytest.fixture(autouse=True)
def _in_process_by_default(settings) -> None:
    """Unit tests run nodes in-process; integration fixtures set the broker explicitly.
    Outbound HTTP may reach the servers tests start on loopback."""
    settings.CELERY_BROKER_URL = ""
    # Unit tests see a webhook's run finished when the response comes back; the background
    # mode (the embedded default) has tests of its own.
    settings.PIPELINE_EMBEDDED_EXECUTION = "inline"
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture
def celery_on_test_redis(settings):
    """Point this process's Celery app at the test Redis (an emptied database) and make the
    engine publish to it."""
    import redis

    from tests.support.services import redis_url
    from workers.app import app

    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    settings.CELERY_BROKER_URL = url
    if app.conf.broker_url != url:
        app.conf.broker_url = url
        # Pools are built lazily from broker_url; drop them so the next publish uses the URL.
        app._pool = None
        app.amqp._producer_pool = None
    yield app
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def test_node_types():
    """Register the engine-test node types in this process; yields the in-process call counts."""
    from apps.orchestration import nodes
    from tests.support.nodes import (
        IN_PROCESS_NODES,
        CountingNode,
        FlakyNode,
        InProcessNode,
        StubbornNode,
        SuicideNode,
    )

    extra = {
        "count": CountingNode,
        "flaky": FlakyNode,
        "suicide": SuicideNode,
        "stubborn": StubbornNode,
        **IN_PROCESS_NODES,
    }
    for name, handler in extra.items():
        nodes.register_node_handler(name, handler)
    InProcessNode.calls.clear()
    yield InProcessNode.calls
    for name in extra:
        nodes._NODE_HANDLERS.pop(name, None)


@pytest.fixture(autouse=True, scope="session")
def _release_background_connections():
    """Background threads (the webhook's outbox relay) keep a database connection while
    busy; the test database can only be dropped once they let go of it."""
    yield
    from apps.orchestration.outbox import relay

    relay().release()
