"""Start real Celery worker processes against the test database and the test Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from django.db import connection

from tests.support.nodes import TEST_NODE_HANDLERS
from tests.support.services import redis_url

ROOT = Path(__file__).resolve().parents[2]


def test_database_address() -> tuple[str, int]:
    """Host and port of the test database server."""
    db = connection.settings_dict
    return db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)


def test_database_url(host: str | None = None, port: int | None = None, **options: str) -> str:
    """DATABASE_URL for the test database pytest-django created (workers must use it).

    ``host``/``port`` reach it another way (through a proxy); ``options`` become query
    parameters (``connect_timeout``, ``conn_max_age``)."""
    db = connection.settings_dict
    default_host, default_port = test_database_address()
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{auth}@{host or default_host}:{port or default_port}/{db['NAME']}"
    return f"{url}?{urlencode(options)}" if options else url


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, log_path: Path, name: str) -> None:
        self.proc = proc
        self.log_path = log_path
        self.name = name

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "ready." in self.log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()[-4000:]}")

    def kill_hard(self) -> None:
        """SIGKILL the worker and its pool children at once: no chance to ack or reject."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_hard()


@contextmanager
def celery_worker(
    tmp_path: Path,
    *,
    concurrency: int = 2,
    queues: str | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    pool: str = "prefork",
) -> Iterator[WorkerProcess]:
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    log_path = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "PIPELINE_EXTRA_NODE_HANDLERS": TEST_NODE_HANDLERS,
        "PIPELINE_STALL_GRACE_SECONDS": "2",
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "workers", "worker",
        "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}",
        "-n", name, "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if queues:
        cmd += ["-Q", queues]
    cmd += extra_args or []
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(proc, log_path, name)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
