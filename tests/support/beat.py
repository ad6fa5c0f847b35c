"""Start a real ``celery beat`` process against the test database and the test Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import redis_url
from tests.support.worker import ROOT, WorkerProcess, test_database_url


@contextmanager
def celery_beat(
    tmp_path: Path, *, max_interval: float = 1.0, extra_env: dict[str, str] | None = None
) -> Iterator[WorkerProcess]:
    """Beat with django-celery-beat's DatabaseScheduler, looking for due schedules at least
    every ``max_interval`` seconds; stopped (SIGTERM, then SIGKILL) on exit."""
    log_path = tmp_path / "beat.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "workers", "beat", "--loglevel=INFO",
        f"--max-interval={max_interval:g}", "--pidfile=",
        f"--schedule={tmp_path / 'beat-schedule'}",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    beat = WorkerProcess(proc, log_path, "beat")
    try:
        end = time.monotonic() + 60
        while "beat: Starting" not in beat.log():
            if proc.poll() is not None:
                raise RuntimeError(f"beat exited early:\n{beat.log()[-4000:]}")
            if time.monotonic() > end:
                raise RuntimeError(f"beat not started after 60s:\n{beat.log()[-4000:]}")
            time.sleep(0.2)
        yield beat
    finally:
        beat.stop()
