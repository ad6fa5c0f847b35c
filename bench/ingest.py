"""Benchmark: the alert webhook under load, against the same server's trivial endpoint.

gunicorn (2 workers) serves the project on 127.0.0.1 with real PostgreSQL and Redis (no Celery
worker consumes: the webhook's job ends when the run is stored and its entry node published).
Load-generator processes with persistent HTTP connections POST varied generic alerts (distinct
fingerprints, so deduplication does not swallow them) for ``--seconds``, then GET ``/healthz``
for as long as the baseline. Prints accepted requests/s and p50/p99 latency for both, the
ratio, and how many 202 answers have no run in the database (must be 0).

``--unchanged`` adds, in the same run, re-pushes of alerts that are already stored and firing
(``--steady`` of them, stored before the server starts), as a monitoring system re-sends what
is still true: noise control's change gate answers them ``200 unchanged`` without a run.
Prints their accepted/s beside the new alerts', checks that none started a run and that every
one was counted on its alert (``seen_count``). ``--rounds N`` alternates the two phases N
times (the machine's noise moves both; compare the ratios within a round).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/ingest.py
    (options: --seconds 30 --clients 4 --workers 2 --worker-class gthread --threads 2
     --redis redis://127.0.0.1:6379/13 --unchanged --steady 2000 --rounds 1)
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_per_item, cpu_seconds, fresh_django, percentile  # noqa: E402

BENCH_DB = "alertpipes_bench_ingest"
TOKEN = "bench-token"
WEBHOOK_PATH = "/alerts/webhook/generic/"
BASELINE_PATH = "/healthz"


def setup(args: argparse.Namespace) -> None:
    """A fresh benchmark database, migrated; the benchmark Redis database emptied."""
    fresh_django(
        args.db,
        args.redis,
        DJANGO_DEBUG="0",
        ALERTS_WEBHOOK_TOKEN=TOKEN,
        # The limiter stays on (its Redis round trip is part of the cost) but never trips.
        ALERTS_RATE_LIMIT_PER_MINUTE="100000000",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: argparse.Namespace, port: int, log_path: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
        "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", BASELINE_PATH)
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"gunicorn did not start: {log_path.read_text()[-3000:]}")


SEVERITIES = ("critical", "warning", "info")
HOSTS = 50


def alert_body(client: int, i: int, tag: str = "") -> bytes:
    return json.dumps(
        {
            "title": f"Disk filling on host-{i % HOSTS}",
            "severity": SEVERITIES[i % 3],
            "status": "firing",
            "description": f"bench client {client} request {i}",
            "labels": {"host": f"host-{i % HOSTS}", "team": "ops", "client": str(client)},
            "fingerprint": f"bench-{tag}{client}-{i}",
        }
    ).encode()


def steady_body(index: int, i: int) -> bytes:
    """A re-push of stored alert ``index``: same status and severity, a fresh description
    (what changes on every push, e.g. the current value, does not make it news)."""
    return json.dumps(
        {
            "title": f"Disk filling on host-{index % HOSTS}",
            "severity": SEVERITIES[index % 3],
            "status": "firing",
            "description": f"still at {90 + i % 10}%",
            "labels": {"host": f"host-{index % HOSTS}", "team": "ops"},
            "fingerprint": f"steady-{index}",
        }
    ).encode()


def prestore(count: int) -> None:
    """``count`` firing alerts in one open incident per host, as ingest would have left them."""
    from django.utils import timezone

    from apps.alerts.models import Alert, Incident

    now = timezone.now()
    incidents = Incident.objects.bulk_create(
        Incident(
            title=f"Disk filling on host-{h}",
            severity="critical",
            source="generic",
            group_key=f"steady:host-{h}",
        )
        for h in range(HOSTS)
    )
    Alert.objects.bulk_create(
        (
            Alert(
                source="generic",
                fingerprint=f"steady-{i}",
                name=f"Disk filling on host-{i % HOSTS}",
                status="firing",
                severity=SEVERITIES[i % 3],
                group_key=f"steady:host-{i % HOSTS}",
                incident=incidents[i % HOSTS],
                started_at=now,
                last_seen_at=now,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )


def steady_seen() -> int:
    from django.db.models import Sum

    from apps.alerts.models import Alert

    total = Alert.objects.filter(fingerprint__startswith="steady-").aggregate(n=Sum("seen_count"))
    return total["n"] or 0


def load(
    port: int,
    phase: str,
    seconds: float,
    client: int,
    out: multiprocessing.Queue,
    steady: int = 0,
    tag: str = "",
) -> None:
    """One load-generator process: requests back to back until the deadline. ``phase`` is
    ``new`` (distinct alerts), ``unchanged`` (re-pushes of the stored ones) or ``baseline``."""
    path = BASELINE_PATH if phase == "baseline" else WEBHOOK_PATH
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    run_ids: list[str] = []
    errors = 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        started = time.perf_counter()
        try:
            if phase == "baseline":
                conn.request("GET", path)
            elif phase == "unchanged":
                index = (client + i * CLIENT_STRIDE) % steady
                conn.request("POST", path, body=steady_body(index, i), headers=headers)
            else:
                conn.request("POST", path, body=alert_body(client, i, tag), headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status == 202:
            run_ids.append(json.loads(data)["run_id"])
    conn.close()
    out.put({"latencies": latencies, "statuses": statuses, "run_ids": run_ids, "errors": errors})


CLIENT_STRIDE = 7  # clients walk the stored alerts in different orders


def drive(port: int, phase: str, args: argparse.Namespace, tag: str = "") -> dict:
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=load, args=(port, phase, args.seconds, c, out, args.steady, tag)
        )
        for c in range(args.clients)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    results = [out.get(timeout=args.seconds + 60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    elapsed = time.monotonic() - started
    merged: dict = {"latencies": [], "statuses": {}, "run_ids": [], "errors": 0}
    for r in results:
        merged["latencies"] += r["latencies"]
        merged["run_ids"] += r["run_ids"]
        merged["errors"] += r["errors"]
        for status, count in r["statuses"].items():
            merged["statuses"][status] = merged["statuses"].get(status, 0) + count
    merged["seconds"] = elapsed
    return merged


def report(name: str, r: dict, accepted_status: int) -> float:
    accepted = r["statuses"].get(accepted_status, 0)
    rate = accepted / r["seconds"]
    lat = r["latencies"] or [0.0]
    print(
        f"{name:<28} {accepted:>7} accepted  {rate:8.1f} req/s  "
        f"p50 {statistics.median(lat):6.2f} ms  p99 {percentile(lat, 99):6.2f} ms  "
        f"statuses {dict(sorted(r['statuses'].items()))}  transport errors {r['errors']}"
    )
    return rate


def count_lost(run_ids: list[str]) -> int:
    from apps.orchestration.models import PipelineRun

    found = 0
    for start in range(0, len(run_ids), 5000):
        chunk = run_ids[start : start + 5000]
        found += PipelineRun.objects.filter(run_id__in=chunk).count()
    return len(set(run_ids)) - found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=4, help="load-generator processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--db", default=BENCH_DB, help="benchmark database (recreated)")
    parser.add_argument(
        "--unchanged", action="store_true", help="also re-push stored, unchanged alerts"
    )
    parser.add_argument("--steady", type=int, default=2000, help="stored alerts to re-push")
    parser.add_argument("--rounds", type=int, default=1, help="new/unchanged phase pairs")
    args = parser.parse_args()

    setup(args)
    if args.unchanged:
        prestore(args.steady)
    port = free_port()
    log_path = Path("/tmp/alertpipes-bench-ingest-gunicorn.log")
    server = start_server(args, port, log_path)
    rounds: list[tuple[dict, dict | None]] = []
    try:
        for n in range(args.rounds if args.unchanged else 1):
            before = cpu_seconds(server.pid, "gunicorn")
            webhook = drive(port, "new", args, tag=f"r{n}-")
            webhook["cpu"] = (before, cpu_seconds(server.pid, "gunicorn"))
            repushed = drive(port, "unchanged", args) if args.unchanged else None
            rounds.append((webhook, repushed))
        before = cpu_seconds(server.pid, "gunicorn")
        baseline = drive(port, "baseline", args)
        baseline["cpu"] = (before, cpu_seconds(server.pid, "gunicorn"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    print(
        f"bench/ingest.py: {args.seconds:.0f} s per endpoint, gunicorn {args.workers} "
        f"{args.worker_class} workers{threads}, {args.clients} client processes, "
        f"PostgreSQL + Redis, {os.cpu_count()} CPUs"
    )
    run_ids: list[str] = []
    unchanged_answers = stray_runs = 0
    for n, (webhook, repushed) in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"round {n}:")
        hook_rate = report(f"webhook POST {WEBHOOK_PATH} (new alerts)", webhook, 202)
        accepted = webhook["statuses"].get(202, 0)
        print(f"    CPU per accepted webhook: {cpu_per_item(*webhook['cpu'], accepted)}")
        run_ids += webhook["run_ids"]
        if repushed is not None:
            same_rate = report(f"webhook POST {WEBHOOK_PATH} (unchanged)", repushed, 200)
            unchanged_answers += repushed["statuses"].get(200, 0)
            stray_runs += len(repushed["run_ids"])
            if hook_rate:
                print(f"ratio unchanged/new throughput: {same_rate / hook_rate:.2f}")
    base_rate = report(f"baseline GET {BASELINE_PATH}", baseline, 200)
    answered = baseline["statuses"].get(200, 0)
    print(f"    CPU per baseline request: {cpu_per_item(*baseline['cpu'], answered)}")
    if base_rate:
        print(f"ratio webhook (new)/baseline throughput: {hook_rate / base_rate:.2f}")
    lost = count_lost(run_ids)
    print(f"202 answers: {len(run_ids)}, runs missing from the database: {lost}")
    failed = bool(lost)
    if args.unchanged:
        seen = steady_seen()
        print(
            f"unchanged answers: {unchanged_answers}, runs they started: {stray_runs}, "
            f"re-pushes counted on the alerts (seen_count): {seen}"
        )
        failed = failed or stray_runs > 0 or seen != unchanged_answers
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
