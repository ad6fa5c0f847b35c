"""Failure tests with real parts: the database or Redis drops away under a real worker.

The worker reaches PostgreSQL or Redis through a ``TcpProxy``; cutting the proxy is, for the
worker, the server going away (every connection reset, new ones refused) while the shared
servers stay up for everyone else. Nodes count their executions in Redis directly (not
through the proxy), so a test can tell a node that ran twice from one that ran once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.orchestration import engine
from apps.orchestration.celery_runner import CeleryRunner
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution, StageStatus
from apps.orchestration.tests.helpers import definition, wait_for_run, wait_until
from tests.support import worker as worker_support
from tests.support.nodes import executions_key
from tests.support.services import redis_url
from tests.support.tcpproxy import TcpProxy
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Three count nodes; the middle one sleeps long enough to be cut off while it runs.
NODES = [
    {"id": "before", "type": "count"},
    {"id": "slow", "type": "count", "config": {"seconds": 3}},
    {"id": "after", "type": "count"},
]


def executions(run_id: str, node_id: str) -> int:
    return int(redis.Redis.from_url(redis_url()).get(executions_key(run_id, node_id)) or 0)


def recover() -> None:
    """What beat does every 30 s, as often as the test polls."""
    engine.recover_stalled_runs(CeleryRunner())


def rows(run: PipelineRun, node_id: str) -> list[StageExecution]:
    return list(StageExecution.objects.filter(run=run, node_id=node_id).order_by("attempt"))


def redis_proxy_url(proxy: TcpProxy) -> str:
    """The test Redis (same database number), reached through ``proxy``."""
    return f"redis://{proxy.host}:{proxy.port}{urlparse(redis_url()).path or '/0'}"


def redis_proxy() -> TcpProxy:
    target = urlparse(redis_url())
    return TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)


@pytest.fixture
def engine_env(celery_on_test_redis: Celery, test_node_types: dict, settings) -> Celery:
    # Recovery in this process re-arms a run's deadline with this grace: keep it as short
    # as the worker's, so a recovered message that is lost again is retried within seconds.
    settings.PIPELINE_STALL_GRACE_SECONDS = 2
    return celery_on_test_redis


@contextmanager
def publishing_to(app: Celery, settings, url: str) -> Iterator[None]:
    """Make this process's Celery app (and the engine) publish to ``url`` for a while."""
    previous = app.conf.broker_url, settings.CELERY_BROKER_URL

    def switch(broker_url: str) -> None:
        app.conf.broker_url = broker_url
        # Pools are built lazily from broker_url and cached: drop them (see conftest).
        app._pool = None
        app.amqp._producer_pool = None

    switch(url)
    settings.CELERY_BROKER_URL = url
    try:
        yield
    finally:
        switch(previous[0])
        settings.CELERY_BROKER_URL = previous[1]


def test_a_run_survives_the_database_becoming_unreachable_while_a_node_runs(
    engine_env: Celery, tmp_path: Path
) -> None:
    pipeline = definition("survives-db-outage", NODES, timeout_seconds=8)
    with TcpProxy(*worker_support.test_database_address()) as db_proxy:
        database_url = worker_support.test_database_url(
            db_proxy.host, db_proxy.port, connect_timeout="2"
        )
        with celery_worker(tmp_path, extra_env={"DATABASE_URL": database_url}) as worker:
            run = DefinitionBasedOrchestrator(pipeline).start(source="test")
            wait_until(lambda: executions(run.run_id, "slow") == 1, message="the slow node")
            db_proxy.cut()
            # The node ends (3 s) with the database gone: its outcome cannot be stored.
            time.sleep(5)
            [slow] = rows(run, "slow")
            assert slow.status == StageStatus.RUNNING
            db_proxy.restore()
            run = wait_for_run(run.run_id, timeout=45, poll=recover)
            log = worker.log()

    assert run.status == RunStatus.COMPLETED, log[-4000:]
    # The worker really lost the database, and the task retried itself rather than dying.
    assert "OperationalError" in log
    assert "Retry in" in log
    # What had succeeded before the outage did not run again.
    assert executions(run.run_id, "before") == 1
    assert [r.status for r in rows(run, "before")] == [StageStatus.SUCCEEDED]
    # The interrupted node's result was never stored, so it ran once more (and only once).
    assert executions(run.run_id, "slow") == 2
    assert [(r.attempt, r.status) for r in rows(run, "slow")] == [(1, StageStatus.SUCCEEDED)]
    assert executions(run.run_id, "after") == 1
    assert [r.status for r in rows(run, "after")] == [StageStatus.SUCCEEDED]


def test_a_run_survives_redis_restarting_empty_while_a_node_runs(
    engine_env: Celery, tmp_path: Path
) -> None:
    pipeline = definition("survives-redis-restart", NODES, timeout_seconds=8)
    with redis_proxy() as broker_proxy:
        env = {"CELERY_BROKER_URL": redis_proxy_url(broker_proxy)}
        with celery_worker(tmp_path, extra_env=env) as worker:
            run = DefinitionBasedOrchestrator(pipeline).start(source="test")
            wait_until(lambda: executions(run.run_id, "slow") == 1, message="the slow node")
            assert executions(run.run_id, "before") == 1
            # Redis "restarts" with nothing on disk: connections drop, every key is gone
            # (queues, unacked messages, bindings, and the execution counts so far).
            broker_proxy.cut()
            redis.Redis.from_url(redis_url()).flushdb()
            # Still down when the node ends, so publishing the next node fails.
            time.sleep(4)
            broker_proxy.restore()
            run = wait_for_run(run.run_id, timeout=45, poll=recover)
            log = worker.log()

    assert run.status == RunStatus.COMPLETED, log[-4000:]
    # The slow node's worker could not publish the next node: only recovery moved the run on.
    assert f"could not publish after attempt 1 of run {run.run_id}" in log
    assert "raised unexpected" not in log  # a failed publish is not the task's failure
    # Counted since the flush: neither finished node ran again, the last one ran once.
    assert [executions(run.run_id, n) for n in ("before", "slow", "after")] == [0, 0, 1]
    for node_id in ("before", "slow", "after"):
        assert [(r.attempt, r.status) for r in rows(run, node_id)] == [
            (1, StageStatus.SUCCEEDED)
        ], node_id
    # dispatch_count counts publications of the run's last step: the worker's (lost) one
    # plus at least one by recovery.
    assert run.dispatch_count >= 2


def test_starting_a_run_while_the_broker_is_unreachable_stores_it_and_says_so(
    engine_env: Celery, tmp_path: Path, settings
) -> None:
    pipeline = definition("starts-without-broker", NODES[:1] + NODES[2:])
    with (
        redis_proxy() as broker_proxy,
        publishing_to(engine_env, settings, redis_proxy_url(broker_proxy)),
    ):
        broker_proxy.cut()
        started = time.monotonic()
        with pytest.raises(KombuOperationalError):
            DefinitionBasedOrchestrator(pipeline).start(source="test")
        # Publishing fails fast: a webhook must not hang on a dead broker.
        assert time.monotonic() - started < 5
        assert broker_proxy.refused > 0

        [run] = PipelineRun.objects.filter(definition_name="starts-without-broker")
        assert run.status == RunStatus.PENDING
        assert run.current_node == "before"
        assert not StageExecution.objects.filter(run=run).exists()

        broker_proxy.restore()
        with celery_worker(tmp_path):
            run = wait_for_run(run.run_id, timeout=30, poll=recover)

    assert run.status == RunStatus.COMPLETED
    assert [executions(run.run_id, n) for n in ("before", "after")] == [1, 1]


def test_a_brief_broker_outage_while_a_node_runs_does_not_run_it_twice(
    engine_env: Celery, tmp_path: Path
) -> None:
    pipeline = definition("survives-broker-blip", NODES, timeout_seconds=8)
    with redis_proxy() as broker_proxy:
        env = {"CELERY_BROKER_URL": redis_proxy_url(broker_proxy)}
        with celery_worker(tmp_path, extra_env=env) as worker:
            run = DefinitionBasedOrchestrator(pipeline).start(source="test")
            wait_until(lambda: executions(run.run_id, "slow") == 1, message="the slow node")
            # Redis restarts and keeps its data: back before the node ends.
            broker_proxy.cut()
            time.sleep(0.5)
            broker_proxy.restore()
            run = wait_for_run(run.run_id, timeout=45, poll=recover)
            log = worker.log()

    assert run.status == RunStatus.COMPLETED, log[-4000:]
    # The consumer's connection dropped with the slow node's message unacknowledged; putting
    # it back on the queue while the node still runs would run the node twice.
    assert "Connection to broker lost" in log
    assert [executions(run.run_id, n) for n in ("before", "slow", "after")] == [1, 1, 1]
