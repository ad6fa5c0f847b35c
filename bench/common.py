"""What the benchmark scripts share: a fresh database, Django set up on it, percentiles."""

from __future__ import annotations

import os


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def fresh_django(database: str, redis_url: str, **env: str) -> str:
    """Recreate ``database`` next to DATABASE_URL's, point Django and Celery at it and at
    ``redis_url`` (emptied), migrate, and return the new database URL."""
    import psycopg
    import redis

    admin_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    # Connections kept for the whole benchmark: a backend that ends (at CONN_MAX_AGE, 60 s by
    # default) takes its CPU time with it, and the accounting would miss it.
    db_url = f"{admin_url.rsplit('/', 1)[0]}/{database}?conn_max_age=3600"
    os.environ.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=redis_url,
        DJANGO_SETTINGS_MODULE="project.settings",
        LOG_LEVEL="WARNING",
        **env,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    return db_url


def cpu_seconds(root_pid: int, name: str = "app") -> dict[str, float]:
    """CPU seconds used so far by ``root_pid`` with its children (as ``name``), PostgreSQL
    and Redis (every process of theirs on this machine: run on a quiet machine)."""
    import psutil

    totals = {name: 0.0, "postgres": 0.0, "redis": 0.0}
    root = psutil.Process(root_pid)
    for proc in [root, *root.children(recursive=True)]:
        times = proc.cpu_times()
        totals[name] += times.user + times.system
    for proc in psutil.process_iter(["name", "cpu_times"]):
        label = proc.info["name"] or ""
        key = "postgres" if label.startswith("postgres") else "redis" if "redis" in label else ""
        if key and proc.info["cpu_times"]:
            totals[key] += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return totals


def cpu_per_item(before: dict[str, float], after: dict[str, float], items: int) -> str:
    """``name x.x ms, ...``: CPU per item between two ``cpu_seconds`` readings."""
    items = max(1, items)
    return ", ".join(f"{k} {1000 * (after[k] - before[k]) / items:.2f} ms" for k in before)
