"""Fuzz the REST API on a running server: 10,000 hostile requests, 0 answers may be 5xx.

gunicorn serves the project on 127.0.0.1 against a fresh PostgreSQL database (nodes run on the
embedded background threads: no broker). Client processes send requests to every endpoint and
method with wrong types, nulls, NUL characters, huge strings, odd names, deep nesting,
non-finite numbers and bytes that are not JSON, then print the status counts. Exits 1 when
any answer was a 5xx, or was not JSON (gunicorn's own 414 page for a request line over 4094
bytes aside: Django never sees those).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/fuzz_api.py
    (options: --requests 10000 --clients 4 --workers 2 --seed 1)
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_django  # noqa: E402

BENCH_DB = "alertpipes_bench_fuzz"
KEY = "fuzz-bootstrap-key-0123456789"
DEFINITION = {"version": "1", "nodes": [{"id": "a", "type": "transform",
                                         "config": {"source_node": "payload"}}]}  # fmt: skip

ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("GET", "/orchestration/definitions/", ()),
    ("POST", "/orchestration/definitions/", ("name", "description", "config", "tags", "is_active")),
    ("GET", "/orchestration/definitions/{name}/", ()),
    ("PUT", "/orchestration/definitions/{name}/", ("description", "config", "tags", "is_active")),
    ("PATCH", "/orchestration/definitions/{name}/", ("description", "config", "is_active")),
    ("DELETE", "/orchestration/definitions/{name}/", ()),
    ("POST", "/orchestration/definitions/{name}/validate/", ()),
    ("POST", "/orchestration/definitions/{name}/dry-run/", ()),
    ("POST", "/orchestration/definitions/{name}/execute/",
     ("payload", "source", "trace_id", "environment", "incident_id", "wait")),
    ("GET", "/orchestration/runs/", ()),
    ("GET", "/orchestration/runs/{name}/", ()),
    ("POST", "/orchestration/runs/{name}/retry/", ()),
    ("POST", "/orchestration/runs/{name}/cancel/", ()),
    ("GET", "/orchestration/schedules/", ()),
    ("POST", "/orchestration/schedules/", ("definition", "every", "cron", "name", "enabled")),
    ("GET", "/orchestration/schedules/{name}/", ()),
    ("PATCH", "/orchestration/schedules/{name}/", ("enabled",)),
    ("DELETE", "/orchestration/schedules/{name}/", ()),
    ("GET", "/notify/drivers/", ()),
    ("GET", "/notify/channels/", ()),
    ("POST", "/notify/channels/", ("name", "driver", "config", "is_active", "description")),
    ("GET", "/notify/channels/{name}/", ()),
    ("PATCH", "/notify/channels/{name}/", ("driver", "config", "is_active", "description")),
    ("DELETE", "/notify/channels/{name}/", ()),
    ("POST", "/notify/channels/{name}/test/", ("title", "message", "severity")),
    ("GET", "/alerts/incidents/", ()),
    ("GET", "/alerts/incidents/{name}/", ()),
    ("POST", "/alerts/incidents/{name}/acknowledge/", ()),
    ("POST", "/alerts/incidents/{name}/resolve/", ()),
    ("POST", "/alerts/incidents/{name}/close/", ()),
]  # fmt: skip
NAMES = ["p", "nope", "c", "1", "999999999999999999999", "p every 5m", "health-check", "..",
         "a%2Fb", "%00", "x" * 300, "é", "%20", "-", "_"]  # fmt: skip
QUERY_KEYS = ["status", "definition", "source", "incident", "since", "until", "page",
              "page_size", "active"]  # fmt: skip
RAW = [b"", b"{", b"[" * 3000, b'{"a": NaN}', b'{"a": 1e999}', b"\xff\xfe\x00", b"null",
       b'{"name": "p", "config": {"version": "1", "nodes": []}, "x": Infinity}']  # fmt: skip


def text(rng: random.Random) -> str:
    pick = rng.randrange(7)
    if pick == 0:
        return "x" * rng.choice([101, 256, 5000, 70000])
    if pick == 1:
        return "a\x00b"
    if pick == 2:
        return rng.choice(["", " ", "a/b", "ops", "slack", "5m", "* * * * *", "1", "true"])
    return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))


def value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(10 if depth < 4 else 7)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, 2**70, -(2**64)])
    if pick == 3:
        return rng.choice([0.5, -1.5, 1e300, 3.0])
    if pick in (4, 5, 6):
        return text(rng)
    if pick in (7, 8):
        return {text(rng): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [value(rng, depth + 1) for _ in range(rng.randrange(4))]


def config(rng: random.Random) -> Any:
    keys = ["id", "type", "config", "next", "required", "queue", "skip_if_errors"]
    nodes = [
        {rng.choice(keys): value(rng) for _ in range(rng.randrange(5))}
        for _ in range(rng.randrange(3))
    ]
    return {"version": "1", "nodes": nodes}


def body(rng: random.Random, fields: tuple[str, ...]) -> bytes:
    pick = rng.randrange(10)
    if pick == 0:
        return rng.choice(RAW)
    if pick == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    if pick == 2 or not fields:
        return json.dumps(value(rng)).encode()
    data = {}
    for field in rng.sample(fields, rng.randrange(len(fields) + 1)):
        data[field] = config(rng) if field == "config" and rng.random() < 0.5 else value(rng)
    return json.dumps(data).encode()


def request(rng: random.Random) -> tuple[str, str, bytes]:
    method, template, fields = rng.choice(ENDPOINTS)
    # Names are sent %-encoded as a client would (the list's own %XX escapes kept).
    name = quote(rng.choice(NAMES), safe="%") if rng.random() < 0.8 else quote(text(rng), safe="")
    path = template.replace("{name}", name)
    if method == "GET" and "{name}" not in template and rng.random() < 0.5:
        query = {rng.choice(QUERY_KEYS): text(rng) for _ in range(rng.randrange(1, 4))}
        path += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return method, path, body(rng, fields) if method in ("POST", "PUT", "PATCH") else b""


RESTORE = [
    ("/orchestration/definitions/", {"name": "p", "config": DEFINITION}),
    ("/notify/channels/", {"name": "c", "driver": "generic",
                           "config": {"endpoint_url": "http://127.0.0.1:9/closed"}}),
    ("/orchestration/schedules/", {"definition": "p", "every": "5m"}),
]  # fmt: skip


def restore(conn: http.client.HTTPConnection, headers: dict[str, str]) -> None:
    """Put back what fuzzed DELETEs removed, so later requests reach real objects (uncounted;
    a 409 means it is still there)."""
    for path, data in RESTORE:
        conn.request("POST", path, body=json.dumps(data).encode(), headers=headers)
        conn.getresponse().read()


def client(port: int, count: int, seed: int, out: multiprocessing.Queue) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Api-Key {KEY}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    statuses: dict[int, int] = {}
    bad: list[str] = []
    errors = 0
    for i in range(count):
        if i % 25 == 0:
            restore(conn, headers)
        method, path, data = request(rng)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException, UnicodeError) as exc:
            errors += 1
            bad.append(f"transport {type(exc).__name__} {method} {path[:80]}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        statuses[response.status] = statuses.get(response.status, 0) + 1
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        # 414 is gunicorn's own page for a request line over 4094 bytes (Django never sees it).
        if response.status >= 500 or (response.status not in (204, 414) and not is_json):
            bad.append(f"{response.status} {method} {path[:80]} {data[:80]!r} {answer[:200]!r}")
    conn.close()
    out.put({"statuses": statuses, "bad": bad, "errors": errors})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120",
        "--log-level", "warning",
    ]  # fmt: skip
    with Path("/tmp/alertpipes-bench-fuzz-gunicorn.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start; see /tmp/alertpipes-bench-fuzz-gunicorn.log")


def seed_world() -> None:
    from apps.alerts.models import Incident

    # The definition, channel and schedule come from each client's restore().
    for i in range(3):
        Incident.objects.create(title="t", source="generic", group_key=f"g{i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    fresh_django(
        BENCH_DB, "redis://127.0.0.1:6379/10", API_KEYS=KEY, DJANGO_DEBUG="0",
        NOTIFY_ALLOWED_HOSTS="127.0.0.1",
    )  # fmt: skip
    seed_world()
    # The server runs nodes on its own threads: no broker, no worker to wait for.
    os.environ["CELERY_BROKER_URL"] = ""
    port = free_port()
    server = start_server(port, args.workers)
    started = time.monotonic()
    out: multiprocessing.Queue = multiprocessing.Queue()
    share = args.requests // args.clients
    procs = [
        multiprocessing.Process(target=client, args=(port, share, args.seed * 1000 + c, out))
        for c in range(args.clients)
    ]
    try:
        for proc in procs:
            proc.start()
        results = [out.get(timeout=3600) for _ in procs]
        for proc in procs:
            proc.join(timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    statuses: dict[int, int] = {}
    bad: list[str] = []
    errors = 0
    for r in results:
        bad += r["bad"]
        errors += r["errors"]
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    total = sum(statuses.values())
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(
        f"bench/fuzz_api.py: {total} requests in {time.monotonic() - started:.0f} s, "
        f"{args.clients} clients, gunicorn {args.workers} workers, PostgreSQL, seed {args.seed}"
    )
    print("status counts: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    print(f"5xx: {server_errors}, answers not JSON: {len(bad) - errors - server_errors}, "
          f"transport errors: {errors}")  # fmt: skip
    for line in bad[:20]:
        print("  " + line)
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
