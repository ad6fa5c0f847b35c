"""Benchmark: webhook → pipeline → generic channel → a loopback sink, at a paced rate.

Starts gunicorn and the Celery workers (the layout named by ``--layout``) on real PostgreSQL
and Redis, a loopback HTTP sink, and paced load-generator processes that POST alerts to the
built-in default pipeline (ingest → context → intelligence(local) → notify). Scenarios:

- ``steady``: ``--rate`` (50) distinct new alerts per second for ``--seconds`` (60): every
  alert its own incident. Target: p99 webhook→sink under 2 s.
- ``storm``: 100 alerts/s for 20 s spread over 8 incidents. Targets: every alert stored, the
  first notification of each incident p99 under 2 s after its first alert, the backlog
  drained within 30 s of the storm's end.
- ``growth``: 1,000 alerts into one incident, one at a time: the run time (sum of its node
  times) of the 1st and the 1,000th alert, to show per-run cost stays flat.

Prints accepted, delivered, lost, duplicated, drain rate, webhook→sink p50/p99, the worker
layout, and the CPU each part used per accepted alert (web, workers, PostgreSQL, Redis, this
bench) with how busy the cores were. The sink answers every request (it does not honour
Idempotency-Key: duplicates show).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/e2e.py
    (options: --scenario steady|storm|growth|all --rate 50 --seconds 60
     --layout split|prefork|threads --prefork 2: processes per prefork worker
     --sink-delay 0: seconds the sink takes to answer, as a real channel or AI provider does
     --sink-http HTTP/1.1|HTTP/1.0: whether the sink keeps connections open)
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_django, percentile  # noqa: E402

BENCH_DB = "alertpipes_bench_e2e"
TOKEN = "bench-token"
WEBHOOK = "/alerts/webhook/generic/"
# Worker layouts: (name, queues, pool, concurrency). "split" is the production layout of
# docs/operations.md: nodes that wait on I/O on a thread pool, the rest on prefork.
LAYOUTS: dict[str, list[tuple[str, str, str, int]]] = {
    "prefork": [("all", "", "prefork", 2)],
    # Two processes (one per core here) of 4 threads each on every queue: no hand-over of
    # each task from a pool's main process to a child over a pipe.
    "threads": [("t1", "", "threads", 4), ("t2", "", "threads", 4)],
    "split": [
        ("cpu", "nodes.ingest,nodes.transform,nodes.condition,nodes.default,maintenance,celery",
         "prefork", 2),
        ("io", "nodes.context,nodes.intelligence,nodes.notify", "threads", 16),
    ],
}  # fmt: skip


def layout(args: argparse.Namespace) -> list[tuple[str, str, str, int]]:
    """The workers of ``--layout``, prefork ones with ``--prefork`` processes."""
    return [
        (name, queues, pool, args.prefork if pool == "prefork" else concurrency)
        for name, queues, pool, concurrency in LAYOUTS[args.layout]
    ]


class Sink:
    """Records when each run's notification arrived (and how many times)."""

    def __init__(self, delay: float = 0.0, protocol: str = "HTTP/1.1") -> None:
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.count: dict[str, int] = defaultdict(int)
        self.by_incident: dict[Any, float] = {}
        self.bytes: list[int] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol  # HTTP/1.1 keeps connections, as real receivers do

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                context = json.loads(body).get("context") or {}
                run_id = context.get("run_id", "?")
                incident = (context.get("incident") or {}).get("id")
                with sink.lock:
                    sink.count[run_id] += 1
                    sink.first.setdefault(run_id, now)
                    sink.by_incident.setdefault(incident, now)
                    sink.bytes.append(len(body))
                if delay:
                    time.sleep(delay)  # a real receiver's (or AI provider's) latency
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"


def pace(port: int, bodies: list[bytes], rate: float, start_at: float, out: Any) -> None:
    """One load process: POST ``bodies`` at ``rate`` per second from ``start_at``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sent: list[tuple[str, float, int]] = []
    for i, body in enumerate(bodies):
        due = start_at + i / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        at = time.time()
        try:
            conn.request("POST", WEBHOOK, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            sent.append(("", at, 0))
            continue
        run_id = json.loads(data).get("run_id", "") if response.status == 202 else ""
        sent.append((run_id, at, response.status))
    out.put(sent)


def send(port: int, bodies: list[bytes], rate: float, clients: int = 4) -> list[tuple]:
    """POST every body at ``rate`` per second overall, spread over ``clients`` processes."""
    out: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 0.5
    parts = [bodies[c::clients] for c in range(clients)]
    procs = [
        multiprocessing.Process(
            target=pace, args=(port, part, rate / clients, start_at + c / rate, out)
        )
        for c, part in enumerate(parts)
    ]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=len(bodies) / rate + 120) for _ in procs]
    for proc in procs:
        proc.join(10)
    return [row for part in results for row in part]


def alert(key: str, group: str, severity: str = "critical") -> bytes:
    return json.dumps(
        {
            "title": f"Service degraded in {group}",
            "severity": severity,
            "status": "firing",
            "description": f"bench alert {key}",
            "labels": {"host": group, "alertname": f"degraded-{group}"},
            "fingerprint": key,
            "group_key": group,
        }
    ).encode()


def wait_drained(run_ids: list[str], timeout: float) -> float:
    """Seconds until every run finished (or ``timeout``)."""
    from apps.orchestration.models import PipelineRun

    started = time.time()
    while time.time() - started < timeout:
        open_runs = PipelineRun.objects.filter(
            run_id__in=run_ids, status__in=["pending", "running"]
        ).count()
        if not open_runs:
            break
        time.sleep(0.5)
    return time.time()


# Process ids of the parts the bench started, by part ("web", "workers"): CPU accounting.
PARTS: dict[str, list[int]] = {"web": [], "workers": []}


def cpu_now() -> dict[str, Any]:
    """CPU seconds used so far by each part: web (gunicorn), workers, PostgreSQL and Redis
    (all of their processes on this machine, by pid: a backend that ends between two
    readings drops out of both), and this bench (the paced clients, waited for, and the
    sink)."""
    import psutil

    totals: dict[str, Any] = dict.fromkeys(("web", "workers", "bench"), 0.0)
    for part, pids in PARTS.items():
        for pid in pids:
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    times = proc.cpu_times()
                    totals[part] += times.user + times.system
            except psutil.NoSuchProcess:
                continue
    for key in ("postgres", "redis"):
        totals[key] = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        label = proc.info["name"] or ""
        key = "postgres" if label.startswith("postgres") else "redis" if "redis" in label else ""
        if key and proc.info["cpu_times"]:
            totals[key][proc.pid] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
    own = os.times()
    totals["bench"] = own.user + own.system + own.children_user + own.children_system
    totals["wall"] = time.monotonic()
    totals["machine"] = psutil.cpu_times()  # the whole host, kernel and other services too
    return totals


def _used(before: Any, after: Any) -> float:
    if isinstance(after, dict):  # by pid: new processes count whole, ended ones not at all
        return sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())
    return after - before


def cpu_report(before: dict[str, Any], after: dict[str, Any], runs: int) -> str:
    """``cpu per run: web x ms, ...; machine busy y%``: where the cores went."""
    runs = max(1, runs)
    parts = ["web", "workers", "postgres", "redis", "bench"]
    used_by = {k: _used(before[k], after[k]) for k in parts}
    per_run = ", ".join(f"{k} {1000 * used_by[k] / runs:.1f} ms" for k in parts)
    used = sum(used_by.values())
    busy = 100 * used / max(0.001, (after["wall"] - before["wall"]) * (os.cpu_count() or 1))
    # guest times are counted in user time already
    spent = {f: getattr(after["machine"], f) - getattr(before["machine"], f)
             for f in after["machine"]._fields if not f.startswith("guest")}  # fmt: skip
    idle = spent.get("idle", 0.0) + spent.get("iowait", 0.0)
    machine = 100 * (1 - idle / max(0.001, sum(spent.values())))
    return (
        f"  cpu per accepted alert: {per_run}; the {os.cpu_count()} cores {machine:.0f}% busy "
        f"({busy:.0f}% by the parts above, the rest the kernel's and other processes')"
    )


def report(name: str, sent: list[tuple], sink: Sink, finished_at: float) -> dict:
    from apps.orchestration.models import PipelineRun

    accepted = [(run_id, at) for run_id, at, status in sent if status == 202 and run_id]
    ids = [r for r, _ in accepted]
    delivered = [r for r in ids if r in sink.first]
    latency = [sink.first[r] - at for r, at in accepted if r in sink.first]
    duplicates = sum(1 for r in ids if sink.count.get(r, 0) > 1)
    stored = PipelineRun.objects.filter(run_id__in=ids).count()
    first, last = min(at for _, at in accepted), max(at for _, at in accepted)
    last_delivery = max((sink.first[r] for r in delivered), default=last)
    drain = len(delivered) / max(0.001, last_delivery - first)
    figures = {
        "sent": len(sent),
        "accepted": len(accepted),
        "stored": stored,
        "delivered": len(delivered),
        "lost": len(ids) - stored,
        "duplicated": duplicates,
        "drain_per_s": round(drain, 1),
        "p50_ms": round(1000 * percentile(latency, 50), 1) if latency else None,
        "p99_ms": round(1000 * percentile(latency, 99), 1) if latency else None,
        "drained_after_last_send_s": round(finished_at - last, 1),
        "body_bytes_p99": percentile(sink.bytes, 99) if sink.bytes else 0,
    }
    print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return figures


def steady(port: int, args: argparse.Namespace, sink: Sink) -> dict:
    total = int(args.rate * args.seconds)
    bodies = [alert(f"steady-{i}", f"svc-{i}") for i in range(total)]
    before = cpu_now()
    sent = send(port, bodies, args.rate)
    ids = [r for r, _, s in sent if s == 202]
    finished = wait_drained(ids, 300)
    after = cpu_now()
    time.sleep(1)
    figures = report(f"steady {args.rate:g}/s x {args.seconds:g}s", sent, sink, finished)
    print(cpu_report(before, after, len(ids)))
    return figures


def storm(port: int, args: argparse.Namespace, sink: Sink) -> dict:
    from apps.orchestration.models import PipelineRun

    groups = [f"storm-{g}" for g in range(8)]
    bodies = [alert(f"storm-{i}", groups[i % 8]) for i in range(2000)]
    before = cpu_now()
    sent = send(port, bodies, 100.0)
    storm_end = max(at for _, at, _ in sent)
    ids = [r for r, _, s in sent if s == 202]
    finished = wait_drained(ids, 300)
    after = cpu_now()
    time.sleep(1)
    figures = report("storm 100/s x 20s over 8 incidents", sent, sink, finished)
    print(cpu_report(before, after, len(ids)))
    # The first notification of each incident, after that incident's first alert.
    first_alert: dict[Any, float] = {}
    at_of = {r: at for r, at, s in sent if s == 202}
    for run in PipelineRun.objects.filter(run_id__in=ids).only("run_id", "incident_id"):
        at = at_of[run.run_id]
        if run.incident_id is not None:
            first_alert[run.incident_id] = min(first_alert.get(run.incident_id, at), at)
    waits = [sink.by_incident[i] - at for i, at in first_alert.items() if i in sink.by_incident]
    figures["incidents"] = len(first_alert)
    figures["first_notification_p99_ms"] = round(1000 * max(waits), 1) if waits else None
    figures["drained_after_storm_s"] = round(finished - storm_end, 1)
    print(
        f"  incidents {len(first_alert)}, first notification per incident: max "
        f"{figures['first_notification_p99_ms']} ms; backlog drained "
        f"{figures['drained_after_storm_s']} s after the storm"
    )
    return figures


def growth(port: int, args: argparse.Namespace, sink: Sink) -> dict:
    from apps.orchestration.models import PipelineRun

    bodies = [alert(f"growth-{i}", "growth") for i in range(1000)]
    sent = send(port, bodies, 40.0, clients=1)
    ids = [r for r, _, s in sent if s == 202]
    wait_drained(ids, 300)

    def node_time(run_id: str) -> float:
        run = PipelineRun.objects.get(run_id=run_id)
        return sum(e.duration_ms or 0 for e in run.stage_executions.filter(status="succeeded"))

    last = len(ids)
    node_ms = {1: round(node_time(ids[0]), 1), last: round(node_time(ids[-1]), 1)}
    # Single runs are noisy (the first one also pays the workers' cold start): the medians of
    # the first and the last 20 show the trend.
    head = statistics.median(node_time(r) for r in ids[1:21])
    tail = statistics.median(node_time(r) for r in ids[-20:])
    node_ms["median_2_21"], node_ms[f"median_{last - 19}_{last}"] = round(head, 1), round(tail, 1)
    print(
        f"growth: node time of alert 1: {node_ms[1]} ms, of alert {last}: {node_ms[last]} ms; "
        f"median of alerts 2-21: {head:.1f} ms, of alerts {last - 19}-{last}: {tail:.1f} ms"
    )
    return node_ms


def start(args: argparse.Namespace, port: int, log_dir: Path) -> list[subprocess.Popen]:
    procs = []
    gunicorn = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind",
        f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
        "--log-level", "warning",
    ]  # fmt: skip
    procs.append(subprocess.Popen(gunicorn, cwd=ROOT, stdout=(log_dir / "web.log").open("wb"),
                                  stderr=subprocess.STDOUT))  # fmt: skip
    PARTS["web"].append(procs[-1].pid)
    for name, queues, pool, concurrency in layout(args):
        cmd = [
            sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel=WARNING",
            f"--pool={pool}", f"--concurrency={concurrency}", "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if queues:
            cmd += ["-Q", queues]
        log = (log_dir / f"worker-{name}.log").open("wb")
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        PARTS["workers"].append(procs[-1].pid)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.3)
    time.sleep(8)  # the workers' start
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="all", choices=["steady", "storm", "growth", "all"])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--layout", default="split", choices=sorted(LAYOUTS))
    parser.add_argument(
        "--prefork", type=int, default=2, help="processes of each prefork worker (default 2)"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument(
        "--sink-delay",
        type=float,
        default=0.0,
        help="seconds the sink waits before answering (a real channel's latency)",
    )
    parser.add_argument(
        "--sink-http",
        default="HTTP/1.1",
        choices=["HTTP/1.1", "HTTP/1.0"],
        help="the sink's protocol: HTTP/1.1 keeps connections open (as Slack, PagerDuty and "
        "most receivers do); HTTP/1.0 closes each (the figures before 2026-12-02's third session)",
    )
    args = parser.parse_args()

    sink = Sink(args.sink_delay, args.sink_http)
    fresh_django(
        BENCH_DB,
        args.redis,
        DJANGO_DEBUG="0",
        ALERTS_WEBHOOK_TOKEN=TOKEN,
        ALERTS_RATE_LIMIT_PER_MINUTE="100000000",
        OUTBOUND_ALLOWED_HOSTS="127.0.0.1",
        NOTIFY_ALLOWED_HOSTS="127.0.0.1",
    )
    from apps.notify.models import NotificationChannel

    NotificationChannel.objects.create(
        name="sink", driver="generic", config={"endpoint_url": sink.url}
    )
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_dir = Path("/tmp/alertpipes-bench-e2e")
    log_dir.mkdir(exist_ok=True)
    procs = start(args, port, log_dir)
    described = "; ".join(
        f"{name}: {pool} x{conc}" + (f" on {queues}" if queues else " on every queue")
        for name, queues, pool, conc in layout(args)
    )
    print(
        f"bench/e2e.py: {os.cpu_count()} CPUs; web gunicorn 2x4 threads; workers {described}; "
        f"sink ({args.sink_http}) answers after {args.sink_delay:g} s"
    )
    try:
        if args.scenario in ("steady", "all"):
            steady(port, args, sink)
        if args.scenario in ("storm", "all"):
            storm(port, args, sink)
        if args.scenario in ("growth", "all"):
            growth(port, args, sink)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


if __name__ == "__main__":
    main()
