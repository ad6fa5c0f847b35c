"""The webhook behind a real gunicorn on 127.0.0.1 and the test PostgreSQL: chunked bodies,
deep nesting at the depths that used to answer 500, access logs without the query token, and
one signature starting one run across worker processes."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.alerts.tests.webhook_support import ingest_only_definition
from apps.alerts.webhooks.signatures import sign
from apps.orchestration.models import OPEN_RUN_STATUSES, PipelineRun
from apps.orchestration.tests.helpers import wait_until
from tests.support import worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "server-token-7c1e"
SECRET = "server-hmac-secret"
ALERT = {"title": "Disk full", "severity": "warning", "fingerprint": "disk-1"}


@dataclass
class Server:
    port: int
    access_log: Path

    def request(
        self, path: str, body: bytes | list[bytes], headers: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        """POST ``body``; a list of parts is sent chunked (Transfer-Encoding, no length)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if isinstance(body, list):
            conn.request("POST", path, body=iter(body), headers=sent, encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, json.loads(data or b"{}")


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("gunicorn")
    access_log, error_log = logs / "access.log", logs / "error.log"
    with django_db_blocker.unblock():
        database_url = worker.test_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "",
        "ALERTS_WEBHOOK_TOKEN": TOKEN,
        "ALERTS_WEBHOOK_HMAC_SECRET": SECRET,
        "ALERTS_WEBHOOK_QUERY_TOKEN": "1",
        "ALERTS_DEFAULT_PIPELINE": "ingest-only",
        "ALERTS_RATE_LIMIT_PER_MINUTE": "0",
        "PYTHONPATH": str(worker.ROOT),
    }
    cmd = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", "127.0.0.1:0", "--workers", "2", "--log-level", "info",
        "--access-logfile", str(access_log), "--error-logfile", str(error_log),
        "--no-control-socket",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=worker.ROOT, env=env, start_new_session=True)
    try:
        yield Server(_listening_port(proc, error_log), access_log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _listening_port(proc: subprocess.Popen, error_log: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = error_log.read_text() if error_log.exists() else ""
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= 2:
            return int(found.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{text[-3000:]}")
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


@pytest.fixture(autouse=True)
def ingest_only(transactional_db: None) -> Iterator[None]:
    ingest_only_definition()
    yield
    # The server runs an accepted alert on its own threads after the 202. The database's
    # flush after the test (a TRUNCATE) must not race a run still writing: the two deadlock,
    # the flush fails, and the next test finds this one's rows.
    wait_until(
        lambda: not PipelineRun.objects.filter(status__in=OPEN_RUN_STATUSES).exists(),
        timeout=60,
        message="the server's runs to finish",
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_chunked_body_is_read_and_accepted(server: Server) -> None:
    raw = json.dumps(ALERT).encode()

    status, body = server.request("/alerts/webhook/generic/", [raw[:10], raw[10:]], AUTH)

    assert status == 202, body
    assert PipelineRun.objects.get(run_id=body["run_id"]).payload == ALERT


def test_a_malformed_chunked_body_is_4xx(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /alerts/webhook/generic/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n{}\r\n0\r\n\r\n"
        )
        status_line = sock.recv(200).split(b"\r\n")[0]

    assert status_line.startswith(b"HTTP/1.1 4"), status_line
    assert PipelineRun.objects.count() == 0


@pytest.mark.parametrize("depth", [930, 938, 947])
def test_json_nested_where_it_used_to_crash_is_400(server: Server, depth: int) -> None:
    raw = b'{"title": "deep", "v": ' + b"[" * depth + b"]" * depth + b"}"

    status, body = server.request("/alerts/webhook/generic/", raw, AUTH)

    assert status == 400
    assert "nested" in body["error"]


def test_the_access_log_never_contains_the_query_token(server: Server) -> None:
    raw = json.dumps(ALERT).encode()

    accepted, _ = server.request(f"/alerts/webhook/generic/?x=1&token={TOKEN}", raw)
    refused, _ = server.request("/alerts/webhook/generic/?token=wrong-guess-91", raw)

    assert (accepted, refused) == (202, 401)
    time.sleep(0.2)  # gunicorn writes the line after the response
    log = server.access_log.read_text()
    assert "/alerts/webhook/generic/?x=1&token=****" in log
    assert TOKEN not in log
    assert "wrong-guess-91" not in log


def test_one_signature_starts_one_run_across_worker_processes(server: Server) -> None:
    raw = json.dumps(ALERT).encode()
    headers = sign(SECRET, raw)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: server.request("/alerts/webhook/generic/", raw, headers), range(8))
        )

    # One new run (202); every other delivery is answered as a replay of it (200).
    assert sorted(status for status, _ in results) == [200] * 7 + [202]
    assert all(body["replayed"] for status, body in results if status == 200)
    assert len({body["run_id"] for _, body in results}) == 1
    assert PipelineRun.objects.count() == 1
