"""Chaos on real processes: 100 webhook runs while the worker is killed three times (once
with a notification in flight) and the broker restarts empty once.

Real parts throughout: webhooks through Django's request handling into PostgreSQL, a private
``redis-server`` as the broker (restarted for real: the shared one is never touched), Celery
worker processes killed with SIGKILL, a real ``celery beat`` running the recovery sweep, and
a loopback receiver that honours ``Idempotency-Key`` and counts what each run delivered.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from pathlib import Path

import pytest

from apps.alerts.tests.conftest import WEBHOOK_TOKEN
from apps.alerts.tests.webhook_support import post
from apps.notify.models import Delivery, NotificationChannel
from apps.orchestration.models import PipelineDefinition, PipelineRun, RunStatus
from tests.support.beat import celery_beat
from tests.support.redis_server import redis_server
from tests.support.sink import CountingSink
from tests.support.worker import WorkerProcess, celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = 100
PIPELINE = {
    "version": "1.0",
    "defaults": {"max_retries": 5, "retry_backoff_seconds": 0.5, "timeout_seconds": 30},
    "nodes": [
        {"id": "ingest", "type": "ingest"},
        {"id": "analyze", "type": "intelligence", "config": {"provider": "local"}},
        {"id": "notify", "type": "notify", "config": {"channels": ["sink"]}},
    ],
}


def alert(i: int) -> dict:
    return {
        "title": f"chaos alert {i}",
        "severity": "critical",
        "fingerprint": f"chaos-{i}",
        "labels": {"host": f"web-{i % 7}"},
    }


def point_this_process_at(url: str, settings) -> None:
    from workers.app import app

    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


def test_kills_and_a_broker_restart_lose_no_run_and_deliver_each_run_once(tmp_path: Path, settings):
    rng = random.Random(7)
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(redis_server(tmp_path))
        sink = CountingSink()
        stack.callback(sink.close)
        point_this_process_at(broker.url, settings)
        settings.ALERTS_WEBHOOK_TOKEN = WEBHOOK_TOKEN
        env = {
            "CELERY_BROKER_URL": broker.url,
            "PIPELINE_LEASE_SECONDS": "2",
            "PIPELINE_STALL_GRACE_SECONDS": "3",
            "PIPELINE_RECOVERY_INTERVAL_SECONDS": "2",
            "NOTIFY_HTTP_TIMEOUT": "5",
        }
        settings.PIPELINE_LEASE_SECONDS = 2
        settings.PIPELINE_STALL_GRACE_SECONDS = 3
        NotificationChannel.objects.create(
            name="sink", driver="generic", config={"endpoint_url": sink.url}
        )
        PipelineDefinition.objects.create(name="chaos", config=PIPELINE)

        stack.enter_context(celery_beat(tmp_path, extra_env=env))
        workers: list[WorkerProcess] = [stack.enter_context(celery_worker(tmp_path, extra_env=env))]
        kills: list[float] = []

        def kill_and_restart() -> None:
            workers[-1].kill_hard()
            kills.append(time.time())
            workers.append(stack.enter_context(celery_worker(tmp_path, extra_env=env)))

        statuses: list[int] = []
        disruptions = {10: "kill-mid-send", rng.randint(25, 45): "kill", 55: "broker", 80: "kill"}
        for i in range(RUNS):
            response = post("/orchestration/pipeline/?definition=chaos", alert(i))
            statuses.append(response.status_code)
            what = disruptions.get(i)
            if what == "kill-mid-send":
                sink.hold_next()
                assert sink.wait_holding(60), "no notification went out"
                workers[-1].kill_hard()  # the receiver has the request; its sender dies
                kills.append(time.time())
                sink.release()
                workers.append(stack.enter_context(celery_worker(tmp_path, extra_env=env)))
            elif what == "kill":
                time.sleep(rng.uniform(0, 0.5))
                kill_and_restart()
            elif what == "broker":
                # Down for 2 s while webhooks keep coming; everything queued or unacknowledged
                # is gone when it is back.
                restart = threading.Thread(target=broker.restart, kwargs={"down_for": 2.0})
                restart.start()
                stack.callback(restart.join)
            time.sleep(0.25)

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if not PipelineRun.objects.filter(status__in=["pending", "running"]).exists():
                break
            time.sleep(0.5)

    runs = list(PipelineRun.objects.filter(definition_name="chaos"))
    logs = "\n".join(w.log()[-3000:] for w in workers)
    # Every webhook was answered 202 and stored a run, during the broker's outage too (the
    # outbox relay publishes after the answer; what it could not, recovery did).
    assert set(statuses) == {202}, statuses
    assert len(runs) == RUNS
    assert {r.status for r in runs} == {RunStatus.COMPLETED}, (
        [(r.run_id, r.status, r.error_message) for r in runs if r.status != "completed"],
        logs,
    )
    # Each run's message reached the receiver, and a receiver honouring Idempotency-Key
    # acted on it exactly once; at most one resend crossed the wire for any run.
    assert all(sink.effective(r.run_id) == 1 for r in runs), {
        r.run_id: sink.effective(r.run_id) for r in runs if sink.effective(r.run_id) != 1
    }
    assert max(sink.raw[r.run_id] for r in runs) <= 2
    assert sum(sink.raw[r.run_id] for r in runs) >= RUNS + 1  # the in-flight send was resent
    assert Delivery.objects.filter(status="sent").count() == RUNS
    # Figures for docs/benchmarks.md (pytest -s shows them).
    after_kill = [
        r.completed_at.timestamp() - k
        for k in kills
        for r in runs
        if r.created_at.timestamp() <= k < r.completed_at.timestamp()
    ]
    print(
        f"\nchaos: {len(runs)} runs, all answered 202 (broker restarted once), "
        f"{len(kills)} kills; wire sends {sum(sink.raw.values())} "
        f"(resends {sum(sink.raw.values()) - RUNS}), effective duplicates "
        f"{sum(1 for r in runs if sink.effective(r.run_id) > 1)}, lost "
        f"{sum(1 for r in runs if sink.effective(r.run_id) == 0)}; slowest completion after "
        f"a kill {max(after_kill, default=0):.1f}s"
    )
    # No run stood still for long after its worker died.
    for killed_at in kills:
        hit = [r for r in runs if r.created_at.timestamp() <= killed_at]
        late = [r.run_id for r in hit if r.completed_at.timestamp() > killed_at + 60]
        assert late == [], f"runs still unfinished a minute after the kill at {killed_at}"
