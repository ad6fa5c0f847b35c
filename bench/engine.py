"""Benchmark: the pipeline engine against a plain Celery chain, on one worker.

500 runs of a 4-node pipeline of trivial (transform) nodes go through one worker process
(concurrency 2) on real Redis and PostgreSQL; every node is its own Celery task, recorded in
PipelineRun/StageExecution rows. The baseline, measured in the same run against the same
worker, is a plain Celery chain of 4 no-op tasks per "run" that records nothing.

Prints runs/s, p50/p99 run latency (submit -> last node done) for both, the throughput ratio,
and how many runs were lost (must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/engine.py
    (options: --runs 500 --rounds 3 --concurrency 2 --redis redis://127.0.0.1:6379/14;
    on a machine whose speed swings, more and shorter rounds: --runs 300 --rounds 9)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_per_item, cpu_seconds, fresh_django, percentile  # noqa: E402

BENCH_DB = "alertpipes_bench"


def setup(args: argparse.Namespace) -> str:
    """A fresh benchmark database and Redis database, Django set up on them."""
    return fresh_django(BENCH_DB, args.redis)


def start_worker(args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel=WARNING",
        f"--concurrency={args.concurrency}", "--pool=prefork", "-n", "bench@%h",
        "--without-gossip", "--without-mingle", "-I", "bench.baseline_tasks",
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    import redis

    client = redis.Redis.from_url(args.redis)
    from bench.baseline_tasks import ping

    ping.apply_async(queue="celery")
    while time.monotonic() < deadline:
        if client.get("bench:ping"):
            return proc
        time.sleep(0.2)
    raise RuntimeError(f"worker did not start: {log_path.read_text()[-3000:]}")


def bench_engine(runs: int) -> dict:
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import PipelineDefinition, PipelineRun

    nodes = [
        {"id": f"n{i}", "type": "transform", "config": {"source_node": f"n{i - 1}"}}
        for i in range(1, 5)
    ]
    definition, _ = PipelineDefinition.objects.get_or_create(
        name="bench-4-nodes", defaults={"config": {"version": "1.0", "nodes": nodes}}
    )
    orchestrator = DefinitionBasedOrchestrator(definition)
    started = time.time()
    ids = [orchestrator.start(payload={"i": i}, source="bench").run_id for i in range(runs)]
    submitted = time.time()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = PipelineRun.objects.filter(run_id__in=ids, status__in=["completed", "failed"])
        if done.count() == runs:
            break
        time.sleep(0.5)
    rows = list(
        PipelineRun.objects.filter(run_id__in=ids).values("status", "created_at", "completed_at")
    )
    completed = [r for r in rows if r["status"] == "completed"]
    latencies = [(r["completed_at"] - r["created_at"]).total_seconds() * 1000 for r in completed]
    last = max(r["completed_at"].timestamp() for r in completed) if completed else time.time()
    return {
        "runs": runs,
        "completed": len(completed),
        "lost": runs - len(completed),
        "seconds": last - started,
        "submit_seconds": submitted - started,
        "latencies": latencies,
    }


def bench_baseline(runs: int, redis_url: str) -> dict:
    import redis
    from celery import chain

    from bench.baseline_tasks import finish, noop

    client = redis.Redis.from_url(redis_url)
    client.delete("bench:done")
    started = time.time()
    for i in range(runs):
        chain(
            noop.si(i).set(queue="celery"),
            noop.si(i).set(queue="celery"),
            noop.si(i).set(queue="celery"),
            finish.si(i, time.time()).set(queue="celery"),
        ).apply_async()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and client.llen("bench:done") < runs:
        time.sleep(0.2)
    records = [r.decode().split(":") for r in client.lrange("bench:done", 0, -1)]
    latencies = [(float(done) - float(sent)) * 1000 for _, sent, done in records]
    last = max(float(done) for _, _, done in records) if records else time.time()
    return {
        "runs": runs,
        "completed": len(records),
        "lost": runs - len(records),
        "seconds": last - started,
        "latencies": latencies,
    }


def report(name: str, r: dict) -> float:
    rate = r["completed"] / r["seconds"] if r["seconds"] else 0.0
    lat = r["latencies"] or [0.0]
    print(
        f"{name:<30} {r['completed']:>4}/{r['runs']} runs  {rate:8.1f} runs/s  "
        f"p50 {statistics.median(lat):8.1f} ms  p99 {percentile(lat, 99):8.1f} ms  "
        f"lost {r['lost']}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/engine pairs")
    args = parser.parse_args()

    setup(args)
    log_path = Path("/tmp/alertpipes-bench-worker.log")
    worker = start_worker(args, log_path)
    ratios, lost = [], 0
    print(f"bench/engine.py: {args.runs} runs x 4 nodes, 1 worker, concurrency {args.concurrency}")
    try:
        # Alternate baseline and engine so a noisy moment on the machine hits both alike.
        for round_no in range(1, args.rounds + 1):
            cpu_0 = cpu_seconds(worker.pid, "worker")
            baseline = bench_baseline(args.runs, args.redis)
            cpu_1 = cpu_seconds(worker.pid, "worker")
            engine = bench_engine(args.runs)
            cpu_2 = cpu_seconds(worker.pid, "worker")
            print(f"round {round_no}:")
            base_rate = report("  baseline: Celery chain of 4", baseline)
            print(f"    CPU per run: {cpu_per_item(cpu_0, cpu_1, args.runs)}")
            engine_rate = report("  engine: 4-node pipeline", engine)
            print(f"    CPU per run: {cpu_per_item(cpu_1, cpu_2, args.runs)}")
            ratios.append(engine_rate / base_rate if base_rate else 0.0)
            print(f"  ratio engine/baseline throughput: {ratios[-1]:.2f}")
            print(f"  engine submit time (create run + publish): {engine['submit_seconds']:.2f}s")
            lost += engine["lost"] + baseline["lost"]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    median = statistics.median(ratios)
    spread = ""
    if len(ratios) >= 4:
        # On a shared machine a round's ratio swings with the machine's speed; the quartiles
        # say how far (more, shorter rounds narrow them: --runs 300 --rounds 9).
        low, _, high = statistics.quantiles(ratios, n=4)
        spread = f" (quartiles {low:.2f}-{high:.2f})"
    print(f"median ratio over {len(ratios)} rounds: {median:.2f}{spread}; lost runs: {lost}")
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
