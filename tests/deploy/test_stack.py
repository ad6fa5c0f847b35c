"""``make up`` / ``make down``: the whole local stack on free ports, against the test database
and the test Redis; a webhook's run completes on the stack's worker and Flower lists it."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from apps.alerts.samples import get_sample_payload
from apps.orchestration.models import RunStatus, StageExecution
from apps.orchestration.tests.helpers import wait_for_run
from tests.support import worker
from tests.support.services import redis_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FLOWER_AUTH = "ops:stack-test-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", target], cwd=worker.ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def flower_workers(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/workers?refresh=1",
        headers={"Authorization": "Basic " + base64.b64encode(FLOWER_AUTH.encode()).decode()},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return {}


def test_make_up_serves_a_webhook_run_on_its_worker_and_make_down_stops_it_all(
    celery_on_test_redis, tmp_path: Path
) -> None:
    web_port, flower_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": worker.test_database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "PORT": str(web_port),
        "FLOWER_PORT": str(flower_port),
        "FLOWER_BASIC_AUTH": FLOWER_AUTH,
        "STACK_RUN_DIR": str(tmp_path),
        "ALERTS_WEBHOOK_TOKEN": "stack-test-token",
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DOTENV_PATH": "none",
    }
    log = tmp_path / "log" / "stack.log"
    up = make("up", env)
    processes: list[psutil.Process] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"web     http://127.0.0.1:{web_port}/" in up.stdout
        honcho = psutil.Process(int((tmp_path / "run" / "stack.pid").read_text()))
        processes = [honcho, *honcho.children(recursive=True)]

        request = urllib.request.Request(
            f"http://127.0.0.1:{web_port}/alerts/webhook/alertmanager/",
            data=json.dumps(get_sample_payload("alertmanager")).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Bearer stack-test-token",
                "Host": "localhost",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
            run_id = json.loads(response.read())["run_id"]
        run = wait_for_run(run_id, timeout=120)
        assert run.status == RunStatus.COMPLETED, run.error_message
        executions = StageExecution.objects.filter(run=run)
        assert executions.count() == 4
        # ingest on the prefork worker, the I/O nodes on the thread-pool one
        assert {e.node_id: e.worker.split("@")[0] for e in executions} == {
            "ingest": "cpu",
            "context": "io",
            "analyze": "io",
            "notify": "io",
        }

        deadline = time.monotonic() + 60
        workers = {}
        while not workers and time.monotonic() < deadline:
            workers = flower_workers(flower_port)
            time.sleep(1)
        assert {e.worker for e in executions} <= set(workers), workers
    finally:
        down = make("down", env)
        _, alive = psutil.wait_procs(processes, timeout=10)
        for process in alive:  # never leave the stack behind, even when the test fails
            process.kill()

    assert down.returncode == 0, down.stdout + down.stderr + log.read_text(errors="replace")
    assert "Stack stopped" in down.stdout
    assert not alive, f"make down left {alive}"
    assert not (tmp_path / "run" / "stack.pid").exists()
    assert not listening(web_port) and not listening(flower_port)
    stopped = log.read_text()
    assert all(f"{p}.1 stopped" in stopped for p in ("web", "worker", "worker_io", "beat"))
