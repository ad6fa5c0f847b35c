"""Plain Celery tasks for the benchmarks' baseline (loaded into the worker with ``-I``)."""

from __future__ import annotations

import functools
import time

import redis
from celery import shared_task
from django.conf import settings


@functools.cache
def _client() -> redis.Redis:
    # One client per worker process, as a real task would keep: a new client per call opens
    # a new connection, which costs redis-py 8 about 1.5 ms of CPU (it looks up its own
    # package version for the handshake) and charged the baseline's last task for it.
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@shared_task(name="bench.noop", ignore_result=True)
def noop(i: int) -> None:
    return None


@shared_task(name="bench.finish", ignore_result=True)
def finish(i: int, sent_at: float) -> None:
    _client().rpush("bench:done", f"{i}:{sent_at}:{time.time()}")


@shared_task(name="bench.ping", ignore_result=True)
def ping() -> None:
    _client().set("bench:ping", "1", ex=600)
