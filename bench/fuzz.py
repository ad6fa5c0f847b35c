"""Fuzz: 10,000 mixed hostile and valid requests against a real server; no answer may be 5xx.

gunicorn (2 workers) serves the project on 127.0.0.1 (an ephemeral port) with a fresh
PostgreSQL database and Redis as the broker (no Celery worker consumes: the webhook's job ends
when the run is stored and published). Client processes send a seeded mix of request classes
(``CLASSES``): valid alerts (bearer token, v1 signature, chunked), replays, stale and wrong
signatures, the query-string token, control characters in query parameters, paths and bodies,
JSON nested 1-3000 deep, invalid UTF-8, lone surrogates, NaN, oversized and malformed chunked
bodies, mutated real payloads, odd headers and wrong methods. Prints the answers per class
and in total; exits 1 if any answer is 5xx or a 202 names a run that is not stored.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/fuzz.py
    (options: --requests 10000 --clients 4 --seed 8 --redis redis://127.0.0.1:6379/8)
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.alerts.webhooks.signatures import sign  # noqa: E402
from bench.common import fresh_django  # noqa: E402

BENCH_DB = "alertpipes_bench_fuzz_webhooks"  # bench/fuzz_api.py (issue 10) has its own
TOKEN = "fuzz-token"
SECRET = "fuzz-hmac-secret"
MAX_BODY = 65536
SOURCES = [
    "alertmanager", "grafana", "pagerduty", "datadog", "newrelic", "opsgenie", "zabbix",
    "generic",
]  # fmt: skip
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = ["\x00", "\x01", "\n", "\ud800", "é", "\\", "%", "'", '"', "<", "\u202e", "a", "b"]
FIXTURES = ROOT / "apps" / "alerts" / "tests" / "fixtures"
SAMPLES = [
    json.loads(p.read_text())
    for p in sorted(FIXTURES.glob("*/*.json"))
    if not p.name.endswith(".expected.json")
]
# One signed request replayed throughout the run: exactly one run may come of it.
REPLAY_BODY = json.dumps({"title": "replayed", "fingerprint": "replayed"}).encode()
REPLAY_HEADERS = sign(SECRET, REPLAY_BODY)

Request = tuple[str, str, dict[str, str], bytes, str]  # method, path, headers, body, mode


def alert(rng: random.Random) -> bytes:
    n = rng.randrange(10**9)
    return json.dumps(
        {
            "title": f"Fuzz {n}",
            "severity": rng.choice(["critical", "warning", "info"]),
            "fingerprint": f"fuzz-{n}",
            "labels": {"host": f"h{n % 50}"},
        }
    ).encode()


def hostile(rng: random.Random, size: int = 6) -> str:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, size)))


def header_text(rng: random.Random) -> str:
    """Odd but sendable header bytes (http.client refuses CR/LF and non-Latin-1)."""
    return "".join(rng.choice("ab é\t;=,\x00\x7f\xff") for _ in range(rng.randint(1, 8)))


def percent(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode("utf-8", "surrogatepass"))


def any_path(rng: random.Random) -> str:
    return rng.choice(
        [f"/alerts/webhook/{rng.choice(SOURCES)}/", "/alerts/webhook/", "/orchestration/pipeline/"]
    )


def mutate(rng: random.Random, value: object) -> object:
    """A real payload with values replaced at random by hostile or wrongly typed ones."""
    if isinstance(value, dict):
        return {k: mutate(rng, v) for k, v in value.items()}
    if isinstance(value, list):
        return [mutate(rng, v) for v in value]
    if rng.random() < 0.15:
        return rng.choice([None, True, -1, 10**30, 1.5, "", [], {}, hostile(rng), "x" * 5000])
    return value


def valid_token(rng: random.Random) -> Request:
    return "POST", "/alerts/webhook/generic/", BEARER, alert(rng), ""


def valid_signature(rng: random.Random) -> Request:
    body = alert(rng)
    return "POST", "/alerts/webhook/generic/", sign(SECRET, body), body, ""


def replayed_signature(rng: random.Random) -> Request:
    path = rng.choice(["/alerts/webhook/generic/", "/alerts/webhook/", "/orchestration/pipeline/"])
    return "POST", path, REPLAY_HEADERS, REPLAY_BODY, ""


def stale_or_wrong_signature(rng: random.Random) -> Request:
    body = alert(rng)
    headers = rng.choice(
        [
            sign(SECRET, body, int(time.time()) - 3600),
            sign("another-secret", body),
            {"X-Webhook-Signature": "sha256=" + "0" * 64},
            {"X-Webhook-Signature": "v1=" + header_text(rng), "X-Webhook-Timestamp": "12ab"},
        ]
    )
    return "POST", any_path(rng), headers, body, ""


def query_token(rng: random.Random) -> Request:
    return "POST", f"/alerts/webhook/generic/?token={TOKEN}", {}, alert(rng), ""


def bad_credentials(rng: random.Random) -> Request:
    headers = rng.choice(
        [
            {},
            {"Authorization": "Bearer nope"},
            {"Authorization": "Basic x"},
            {"X-Webhook-Token": "é"},
        ]
    )
    return "POST", any_path(rng), headers, alert(rng), ""


def control_chars_in_query(rng: random.Random) -> Request:
    name = rng.choice(["definition", "source"])
    return "POST", f"{any_path(rng)}?{name}={percent(hostile(rng))}", BEARER, alert(rng), ""


def hostile_source_path(rng: random.Random) -> Request:
    return "POST", f"/alerts/webhook/{percent(hostile(rng))}/", BEARER, alert(rng), ""


def deep_nesting(rng: random.Random) -> Request:
    depth = rng.choice([rng.randint(1, 80), rng.randint(900, 1000), rng.randint(1000, 3000)])
    opener, closer = rng.choice([("[", "]"), ('{"k":', "}")])
    body = f'{{"title": "deep", "v": {opener * depth}1{closer * depth}}}'.encode()
    return "POST", any_path(rng), BEARER, body, ""


def hostile_strings_in_body(rng: random.Random) -> Request:
    body = json.dumps({"title": hostile(rng), hostile(rng): [hostile(rng), {"x": hostile(rng)}]})
    return "POST", any_path(rng), BEARER, body.encode(), ""


def bad_bytes(rng: random.Random) -> Request:
    body = rng.choice(
        [
            bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))),
            b'{"title": "caf\xe9"}',
            b'{"title": NaN}',
            b'{"title": 1e999}',
            b"[" * 20000,
            b'{"a":' * 100,
            b"\xef\xbb\xbf{}",
            b"",
        ]
    )
    return "POST", any_path(rng), BEARER, body, ""


def oversized(rng: random.Random) -> Request:
    body = b'{"title": "' + b"x" * (MAX_BODY + rng.randint(1, 1000)) + b'"}'
    return "POST", any_path(rng), BEARER, body, rng.choice(["", "chunked"])


def chunked_valid(rng: random.Random) -> Request:
    return "POST", "/alerts/webhook/generic/", BEARER, alert(rng), "chunked"


def chunked_malformed(rng: random.Random) -> Request:
    body = rng.choice([b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{}\r\n", b"ffffffff\r\n{}", b"-1\r\n"])
    return "POST", "/alerts/webhook/generic/", BEARER, body, "raw-chunked"


def mutated_sample(rng: random.Random) -> Request:
    body = json.dumps(mutate(rng, rng.choice(SAMPLES))).encode()
    path = rng.choice([any_path(rng), "/orchestration/pipeline/?definition=fuzz"])
    return "POST", path, BEARER, body, ""


def odd_headers(rng: random.Random) -> Request:
    key = rng.choice(["k" * 300, header_text(rng)])
    content_type = rng.choice(["text/plain", "application/x-www-form-urlencoded", "a/b; c=\x7f"])
    headers = {**BEARER, "Idempotency-Key": key, "Content-Type": content_type}
    return "POST", any_path(rng), headers, alert(rng), ""


def wrong_method(rng: random.Random) -> Request:
    return rng.choice(["GET", "PUT", "DELETE", "PATCH"]), any_path(rng), BEARER, b"", ""


CLASSES: dict[str, tuple[int, Callable[[random.Random], Request]]] = {
    # name: (weight, generator)
    "valid-token": (3, valid_token),
    "valid-v1-signature": (2, valid_signature),
    "replayed-signature": (1, replayed_signature),
    "stale-or-wrong-signature": (1, stale_or_wrong_signature),
    "query-token": (1, query_token),
    "bad-credentials": (1, bad_credentials),
    "control-chars-in-query": (1, control_chars_in_query),
    "hostile-source-path": (1, hostile_source_path),
    "deep-nesting": (2, deep_nesting),
    "hostile-strings-in-body": (1, hostile_strings_in_body),
    "bad-bytes": (1, bad_bytes),
    "oversized": (1, oversized),
    "chunked-valid": (1, chunked_valid),
    "chunked-malformed": (1, chunked_malformed),
    "mutated-sample": (2, mutated_sample),
    "odd-headers": (1, odd_headers),
    "wrong-method": (1, wrong_method),
}


def send(port: int, request: Request) -> tuple[int, bytes]:
    """The answer's status and body; status 0 when the server closed without answering."""
    method, path, headers, body, mode = request
    if mode == "raw-chunked":
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head.encode() + body)
            sock.shutdown(socket.SHUT_WR)
            data = sock.recv(4096)
        match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return (int(match.group(1)) if match else 0), data
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Content-Type": "application/json", **headers}
        if mode == "chunked":
            parts = iter([body[:7], body[7:]])
            conn.request(method, path, body=parts, headers=sent, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def client(port: int, seed: int, count: int, out: multiprocessing.Queue) -> None:
    """One client process: ``count`` requests drawn from ``CLASSES`` with its own seed."""
    rng = random.Random(seed)
    names = list(CLASSES)
    weights = [CLASSES[name][0] for name in names]
    counts: Counter[tuple[str, int]] = Counter()
    run_ids: list[str] = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        status, data = send(port, CLASSES[name][1](rng))
        counts[(name, status)] += 1
        if status == 202:
            run_ids.append(json.loads(data)["run_id"])
    out.put({"counts": counts, "run_ids": run_ids})


def setup(args: argparse.Namespace) -> None:
    fresh_django(
        BENCH_DB,
        args.redis,
        DJANGO_DEBUG="0",
        ALERTS_WEBHOOK_TOKEN=TOKEN,
        ALERTS_WEBHOOK_HMAC_SECRET=SECRET,
        ALERTS_MAX_BODY_BYTES=str(MAX_BODY),
        ALERTS_RATE_LIMIT_PER_MINUTE="0",
    )
    from apps.orchestration.models import PipelineDefinition

    PipelineDefinition.objects.create(
        name="fuzz",
        config={"version": "1.0", "nodes": [{"id": "ingest", "type": "ingest", "config": {}}]},
    )


def start_server(log_path: Path) -> tuple[subprocess.Popen, int]:
    cmd = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", "127.0.0.1:0", "--workers", "2", "--worker-class", "gthread",
        "--threads", "2", "--log-level", "info", "--no-control-socket",
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= 2:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"gunicorn did not start: {log_path.read_text()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args()

    setup(args)
    log_path = Path("/tmp/alertpipes-bench-fuzz-webhooks-gunicorn.log")
    server, port = start_server(log_path)
    out: multiprocessing.Queue = multiprocessing.Queue()
    share = [
        args.requests // args.clients + (i < args.requests % args.clients)
        for i in range(args.clients)
    ]
    started = time.monotonic()
    procs = [
        multiprocessing.Process(target=client, args=(port, args.seed * 1000 + i, n, out))
        for i, n in enumerate(share)
    ]
    try:
        for proc in procs:
            proc.start()
        results = [out.get(timeout=args.requests * 0.5 + 60) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    elapsed = time.monotonic() - started
    report(args, results, elapsed, log_path)


def report(args: argparse.Namespace, results: list[dict], elapsed: float, log_path: Path) -> None:
    from apps.orchestration.models import PipelineRun

    counts: Counter[tuple[str, int]] = Counter()
    run_ids: list[str] = []
    for result in results:
        counts.update(result["counts"])
        run_ids += result["run_ids"]
    total = sum(counts.values())
    print(
        f"bench/fuzz.py: {total} requests in {elapsed:.1f} s, seed {args.seed}, {args.clients} "
        f"clients, gunicorn 2 gthread workers x 2 threads, PostgreSQL + Redis, "
        f"{os.cpu_count()} CPUs"
    )
    for name in CLASSES:
        per = {status: n for (kind, status), n in sorted(counts.items()) if kind == name}
        print(f"  {name:<26} {sum(per.values()):>5}  {per}")
    statuses: Counter[int] = Counter()
    for (_, status), n in counts.items():
        statuses[status] += n
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    stored = PipelineRun.objects.filter(run_id__in=set(run_ids)).count()
    print(f"status counts: {dict(sorted(statuses.items()))}  (0 = closed without an answer)")
    print(f"5xx answers: {server_errors}")
    print(f"202 answers: {len(run_ids)}, distinct runs {len(set(run_ids))}, stored {stored}")
    replays = counts_for(counts, "replayed-signature")
    print(f"replayed signature: {replays} requests, runs started from it: {replayed_runs()}")
    tracebacks = log_path.read_text(errors="replace").count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")
    if server_errors or stored != len(set(run_ids)) or replayed_runs() > 1:
        sys.exit(1)


def counts_for(counts: Counter[tuple[str, int]], name: str) -> int:
    return sum(n for (kind, _), n in counts.items() if kind == name)


def replayed_runs() -> int:
    from apps.orchestration.models import PipelineRun

    return PipelineRun.objects.filter(payload__fingerprint="replayed").count()


if __name__ == "__main__":
    main()
