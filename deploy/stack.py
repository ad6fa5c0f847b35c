"""The local stack behind ``make up`` / ``make down``: deploy/Procfile under honcho, in the
background.

    python deploy/stack.py up        # start; wait until web (and Flower) answer; print URLs
    python deploy/stack.py down      # stop everything it started
    python deploy/stack.py status

Ports and the broker come from the Django settings, so ``.env`` applies: web on ``PORT``,
Flower on ``FLOWER_PORT``. With ``CELERY_BROKER_URL`` set, web, the two workers of the layout
in docs/operations.md, beat and Flower run against it. Without it (the embedded default) only
web runs: every node executes in-process, on SQLite unless ``DATABASE_URL`` says otherwise.

honcho reads no env file here (``-e /dev/null``): each process loads ``.env`` itself through
the settings, with one parser and the environment winning, instead of honcho's own parser
overriding the environment. The pid file and the log are in ``var/`` (``STACK_RUN_DIR``
moves them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "deploy" / "Procfile"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def run_dir() -> Path:
    return Path(os.environ.get("STACK_RUN_DIR") or ROOT / "var")


def pid_file() -> Path:
    return run_dir() / "run" / "stack.pid"


def log_file() -> Path:
    return run_dir() / "log" / "stack.log"


def load_settings() -> Any:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.conf import settings

    settings.PORT  # noqa: B018 - importing the settings now reports a bad .env before starting
    return settings


def running_pid() -> int | None:
    """The pid of the stack's honcho, if the pid file names a live honcho process."""
    import psutil

    try:
        pid = int(pid_file().read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return None
    # A reused pid belongs to someone else: only a honcho running our Procfile is ours.
    return pid if "honcho" in cmdline and str(PROCFILE) in cmdline else None


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def answers(url: str, host: str) -> bool:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def host_header(settings: Any) -> str:
    # Django answers 400 to a Host it does not serve; use one it lists.
    return next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if "*" not in h), "localhost")


def up() -> int:
    settings = load_settings()
    if pid := running_pid():
        print(f"The stack is already running (honcho pid {pid}): make down first.")
        return 1
    processes = (
        ["web", "worker", "worker_io", "beat", "flower"] if settings.CELERY_BROKER_URL else ["web"]
    )
    ports = {"PORT": settings.PORT}
    if "flower" in processes:
        ports["FLOWER_PORT"] = settings.FLOWER_PORT
    busy = [f"{name}={port}" for name, port in ports.items() if port_in_use(port)]
    if busy:
        print(f"Port(s) in use: {', '.join(busy)}. Set free ones in .env (PORT, FLOWER_PORT).")
        return 1
    honcho = Path(sys.executable).parent / "honcho"
    if not honcho.exists():
        print("honcho is not installed (a dev dependency): run make install.")
        return 1

    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        # /metrics adds up the counters every process of the stack writes here; a new stack
        # starts from zero (docs/operations.md, "Metrics").
        metrics = run_dir() / "metrics"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    command = [
        str(honcho), "start", "--no-colour", "-f", str(PROCFILE), "-d", str(ROOT),
        "-e", os.devnull, "-p", str(settings.PORT), *processes,
    ]  # fmt: skip
    log_file().parent.mkdir(parents=True, exist_ok=True)
    pid_file().parent.mkdir(parents=True, exist_ok=True)
    with log_file().open("ab") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    pid_file().write_text(f"{proc.pid}\n")

    checks = {"web": f"http://127.0.0.1:{settings.PORT}/healthz"}
    if "flower" in processes:
        checks["flower"] = f"http://127.0.0.1:{settings.FLOWER_PORT}/healthcheck"
    host = host_header(settings)
    deadline = time.monotonic() + START_TIMEOUT
    waiting = dict(checks)
    while waiting:
        if proc.poll() is not None:
            print(f"The stack stopped while starting (exit {proc.returncode}):\n{_tail()}")
            pid_file().unlink(missing_ok=True)
            return 1
        if time.monotonic() > deadline:
            print(f"Not answering after {START_TIMEOUT:g}s: {', '.join(waiting)}\n{_tail()}")
            down()
            return 1
        waiting = {name: url for name, url in waiting.items() if not answers(url, host)}
        time.sleep(0.5)

    mode = "embedded (no broker: nodes run inside web)" if len(processes) == 1 else "Celery"
    print(f"Stack up ({', '.join(processes)}; {mode}), honcho pid {proc.pid}")
    print(f"  web     http://127.0.0.1:{settings.PORT}/   (admin: /admin/)")
    if "flower" in processes:
        print(f"  flower  http://127.0.0.1:{settings.FLOWER_PORT}/")
    else:
        print("  worker, beat and Flower need CELERY_BROKER_URL (schedules too)")
    print(f"  logs    {log_file()}")
    print("  stop    make down")
    return 0


def down() -> int:
    import psutil

    pid = running_pid()
    if pid is None:
        pid_file().unlink(missing_ok=True)
        print("The stack is not running.")
        return 0
    honcho = psutil.Process(pid)
    children = honcho.children(recursive=True)
    # honcho stops every process group it started (SIGTERM, SIGKILL after 5 s).
    honcho.send_signal(signal.SIGTERM)
    try:
        honcho.wait(timeout=STOP_TIMEOUT)
    except psutil.TimeoutExpired:
        honcho.kill()
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:  # only what this stack started, and only if honcho could not stop it
        child.kill()
    pid_file().unlink(missing_ok=True)
    print(f"Stack stopped (honcho pid {pid}, {len(children)} process(es)).")
    return 0


def status() -> int:
    pid = running_pid()
    print(f"running (honcho pid {pid})" if pid else "not running")
    return 0 if pid else 3


def _tail(lines: int = 40) -> str:
    try:
        return "\n".join(log_file().read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    action = parser.parse_args().action
    return {"up": up, "down": down, "status": status}[action]()


if __name__ == "__main__":
    sys.exit(main())
