"""The direct publisher sends what Celery's ``apply_async`` sends, on a real Redis.

Each message is published both ways into the test Redis and the two are compared field by
field: only ids and clock readings may differ. That is what a worker sees, so the workers'
integration tests (which now receive direct messages) and this comparison together pin the
format; a Celery or kombu upgrade that changes it fails here.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from datetime import datetime, timedelta

import pytest
import redis
from celery import signals
from celery._state import _task_stack
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.orchestration import celery_runner, fastpublish
from apps.orchestration.engine.runner import Step
from apps.orchestration.tasks import run_node

pytestmark = pytest.mark.integration

QUEUE = "nodes.transform"


def _pop(client: redis.Redis, queue: str = QUEUE) -> dict:
    raw = client.rpop(queue)
    assert raw is not None, f"nothing was published to {queue}"
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def _both_ways(app, message: fastpublish.Message) -> tuple[dict, dict]:
    client = redis.Redis.from_url(app.conf.broker_url)
    direct = fastpublish.publisher(app, message.queue)
    assert direct is not None, "the test broker should take the direct path"
    direct.publish([message], fastpublish.RetryPolicy())
    ours = _pop(client, message.queue)
    celery_runner._apply_async(message)
    celerys = _pop(client, message.queue)
    return ours, celerys


def _assert_same(ours: dict, celerys: dict) -> None:
    assert ours.keys() == celerys.keys()
    for key in ("body", "content-type", "content-encoding"):
        assert ours[key] == celerys[key], key
    h1, h2 = ours["headers"], celerys["headers"]
    assert h1.keys() == h2.keys()
    for key in h1:
        if key in ("id", "root_id"):
            uuid.UUID(h1[key]), uuid.UUID(h2[key])  # noqa: B018 - both are task ids
        elif key in ("eta", "expires"):
            assert (h1[key] is None) == (h2[key] is None), key
            if h1[key] is not None:
                apart = datetime.fromisoformat(h1[key]) - datetime.fromisoformat(h2[key])
                assert abs(apart.total_seconds()) < 2, key
        else:
            assert h1[key] == h2[key], key
    p1, p2 = ours["properties"], celerys["properties"]
    assert p1.keys() == p2.keys()
    assert p1["correlation_id"] == h1["id"] and p2["correlation_id"] == h2["id"]
    assert p1["delivery_tag"] != p2["delivery_tag"]
    for key in p1.keys() - {"correlation_id", "delivery_tag", "expiration"}:
        assert p1[key] == p2[key], key
    if "expiration" in p1:
        assert abs(int(p1["expiration"]) - int(p2["expiration"])) < 2000


def _message(**overrides) -> fastpublish.Message:
    step = Step(
        run_id=str(uuid.uuid4()),
        node={"id": "enrich", "type": "transform"},
        attempt=2,
        timeout=30.0,
        countdown=overrides.pop("countdown", 0.0),
        expires=overrides.pop("expires", timezone.now() + timedelta(hours=6)),
    )
    return celery_runner._message(step)


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"countdown": 2.5},
        {"expires": None},
        {"expires": timezone.now() - timedelta(minutes=1)},  # already past: expiration 0
    ],
    ids=["plain", "countdown", "no-expiry", "expired"],
)
def test_direct_message_is_celerys_message(celery_on_test_redis, variant):
    ours, celerys = _both_ways(celery_on_test_redis, _message(**variant))
    _assert_same(ours, celerys)
    headers = ours["headers"]
    assert headers["task"] == "orchestration.run_node"
    assert headers["root_id"] == headers["id"] and headers["parent_id"] is None
    assert ours["properties"]["delivery_info"] == {"exchange": "", "routing_key": QUEUE}
    assert headers["timelimit"][1] == 30.0 and headers["timelimit"][0] > 30.0


def test_inside_a_task_the_message_names_its_parent_and_root(celery_on_test_redis):
    # As in a worker: the node task publishing the next node is that message's parent.
    parent, root = str(uuid.uuid4()), str(uuid.uuid4())
    run_node.push_request(id=parent, root_id=root, called_directly=False)
    _task_stack.push(run_node)
    try:
        ours, celerys = _both_ways(celery_on_test_redis, _message())
    finally:
        _task_stack.pop()
        run_node.pop_request()
    _assert_same(ours, celerys)
    assert ours["headers"]["parent_id"] == parent
    assert ours["headers"]["root_id"] == root


def test_many_go_in_one_pipeline_and_all_arrive(celery_on_test_redis):
    client = redis.Redis.from_url(celery_on_test_redis.conf.broker_url)
    steps = [
        Step(run_id=str(uuid.uuid4()), node={"id": "n", "type": t}, attempt=1, timeout=5.0)
        for t in ("ingest", "transform", "ingest")
    ]
    celery_runner.publish_many(steps)
    ingest = [_pop(client, "nodes.ingest")["body"][0] for _ in range(2)]
    transform = _pop(client, "nodes.transform")["body"][0]
    assert sorted(ingest) == sorted([s.run_id, "n", 1] for s in (steps[0], steps[2]))
    assert transform == [steps[1].run_id, "n", 1]


def test_publish_hooks_send_it_through_celery(celery_on_test_redis):
    """Instrumentation on Celery's publish signals keeps seeing every message."""
    seen = []

    def receiver(sender=None, headers=None, **kwargs):
        seen.append(headers["id"])

    signals.before_task_publish.connect(receiver)
    try:
        assert fastpublish.publisher(celery_on_test_redis, QUEUE) is None
        task_id = celery_runner.publish(
            Step(run_id=str(uuid.uuid4()), node={"id": "n", "type": "transform"}, attempt=1,
                 timeout=5.0)
        )  # fmt: skip
    finally:
        signals.before_task_publish.disconnect(receiver)
    assert seen == [task_id]
    assert fastpublish.publisher(celery_on_test_redis, QUEUE) is not None


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("amqp://guest@broker.invalid//", {}),
        ("rediss://broker.invalid:6380/0", {}),
        ("redis://127.0.0.1:6379/15", {"global_keyprefix": "ap:"}),
        ("redis://127.0.0.1:6379/15", {"priority_steps": [0, 5]}),
    ],
    ids=["amqp", "tls", "key-prefix", "priority-steps"],
)
def test_brokers_and_options_it_does_not_cover_go_through_celery(url, options):
    from workers.app import app

    conf = {"broker_url": url, "broker_transport_options": options}
    saved = {key: app.conf[key] for key in conf}
    app.conf.update(conf)
    try:
        assert fastpublish.publisher(app, QUEUE) is None
    finally:
        app.conf.update(saved)


def test_a_topic_queue_goes_through_celery(celery_on_test_redis):
    from kombu import Exchange, Queue

    app = celery_on_test_redis
    app.amqp.queues.add(Queue("alerts.topic", Exchange("alerts", type="topic"), "alerts.#"))
    try:
        assert fastpublish.publisher(app, "alerts.topic") is None
        assert fastpublish.publisher(app, QUEUE) is not None
    finally:
        app.amqp.queues.pop("alerts.topic")


def test_an_unreachable_broker_is_tried_as_the_policy_says_then_raises(celery_on_test_redis):
    """A broker that takes connections and drops them: three tries (the first and two
    retries), then kombu's OperationalError, as from ``apply_async``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def drop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    port = listener.getsockname()[1]
    publisher = fastpublish.Publisher(celery_on_test_redis, f"redis://127.0.0.1:{port}/0", {})
    try:
        with pytest.raises(KombuOperationalError, match="cannot publish to the broker"):
            publisher.publish([_message()], fastpublish.RetryPolicy(2, 0.0, 0.01))
    finally:
        listener.close()
    assert len(accepted) == 3
