"""The webhook rate limit: decided in memory, shared through Redis without a round trip per
request."""

from __future__ import annotations

import time

import pytest
import redis

from apps.alerts.webhooks.ratelimit import KEY_PREFIX, Counter
from tests.support.services import redis_url


def test_without_redis_each_process_counts_alone():
    counter = Counter()
    assert [counter.count("grafana", 100, "") for _ in range(3)] == [1, 2, 3]
    assert counter.count("zabbix", 100, "") == 1
    assert counter.count("grafana", 101, "") == 1  # a new minute starts from zero


@pytest.mark.integration
def test_processes_share_one_limit_through_redis_within_a_sync():
    url = redis_url()
    minute = int(time.time() // 60) + 1000  # a window nobody else uses
    redis.Redis.from_url(url).delete(f"{KEY_PREFIX}:generic:{minute}")
    web_1, web_2 = Counter(background=False), Counter(background=False)  # two web workers

    assert [web_1.count("generic", minute, url) for _ in range(3)] == [1, 2, 3]
    web_1.sync(url)
    # The second worker has counted nothing yet; after its own sync it knows the total.
    assert web_2.count("generic", minute, url) == 1
    web_2.sync(url)
    assert web_2.count("generic", minute, url) == 5  # 4 shared + its own new one
    web_1.sync(url)  # nothing of its own to add: it learns the total the others reached
    assert web_1.count("generic", minute, url) == 5
    web_1.sync(url)
    web_2.sync(url)
    assert int(redis.Redis.from_url(url).get(f"{KEY_PREFIX}:generic:{minute}")) == 6


@pytest.mark.integration
def test_the_request_path_makes_no_redis_round_trip(settings):
    from apps.alerts.webhooks import ratelimit

    settings.CELERY_BROKER_URL = redis_url()
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 1000
    client = redis.Redis.from_url(redis_url())
    before = client.info("stats")["total_commands_processed"]
    started = time.perf_counter()
    for _ in range(200):
        assert ratelimit.over_limit("bench") is None
    elapsed = time.perf_counter() - started
    after = client.info("stats")["total_commands_processed"]
    # 200 requests, a handful of syncs (each a pipeline of one script call) at most.
    assert after - before < 40, after - before
    assert elapsed < 0.5


def test_a_redis_outage_keeps_the_unsent_counts_for_the_next_sync():
    counter = Counter(background=False)
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    minute = int(time.time() // 60)
    counter.count("generic", minute, dead)
    with pytest.raises(redis.RedisError):
        counter.sync(dead)
    assert counter._unsent == {("generic", minute): 1}
