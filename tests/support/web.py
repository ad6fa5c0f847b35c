"""A real gunicorn serving the project as deployed (deploy/gunicorn.conf.py, whitenoise, the
manifest storage after collectstatic), for tests that need the web process itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WebServer:
    proc: subprocess.Popen
    port: int
    error_log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""


def collect_static(root: Path) -> Path:
    """``collectstatic`` into ``root`` with the production storage (hashed names, gzip)."""
    env = {**os.environ, "DJANGO_STATIC_ROOT": str(root), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return root


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One collectstatic per test session, shared by every server the tests start."""
    return collect_static(tmp_path_factory.mktemp("static"))


@contextmanager
def gunicorn(
    tmp: Path, static: Path, env: dict[str, str], *, workers: int = 2
) -> Iterator[WebServer]:
    """gunicorn with the deployed config on 127.0.0.1 and a free port; stopped on exit."""
    error_log = tmp / "gunicorn.log"
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_STATIC_ROOT": str(static),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    cmd = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--config", "deploy/gunicorn.conf.py", "--bind", "127.0.0.1:0",
        "--workers", str(workers), "--error-logfile", str(error_log),
        "--access-logfile", str(tmp / "access.log"), "--no-control-socket",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, start_new_session=True)
    try:
        yield WebServer(proc, _listening_port(proc, error_log, workers), error_log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _listening_port(proc: subprocess.Popen, error_log: Path, workers: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = error_log.read_text() if error_log.exists() else ""
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= workers:
            return int(found.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{text[-3000:]}")
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")
