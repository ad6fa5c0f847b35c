"""The pipeline engine: one code path for a node, whether it runs on a worker or in-process.

A run is advanced one node at a time by ``process_node``:

1. claim: lock the run, check the message is for its current node and attempt, find or create
   the ``StageExecution`` by its idempotency key and take a lease on it;
2. execute: evaluate skip rules, run the handler under the node's timeout (no lock held);
3. finish: lock the run again, check the lease is still ours, record the outcome and schedule
   the next step (the next node, a retry with backoff, or the end of the run).

Every decision is stored before the next step is published, so a lost message or a dead worker
leaves a run whose ``node_deadline`` passes; ``recover_stalled_runs`` then publishes it again,
and the idempotency key and lease make the duplicate harmless.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.orchestration import conditions
from apps.orchestration.dispatch import Runner, Step
from apps.orchestration.errors import NodeError, NodeTimeoutError
from apps.orchestration.graph import default_next, node_index
from apps.orchestration.logging import bind_run
from apps.orchestration.models import (
    FINAL_STAGE_STATUSES,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)
from apps.orchestration.nodes import NodeContext, NodeResult, get_node_handler
from apps.orchestration.timeouts import deadline

logger = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_BACKOFF_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class NodePolicy:
    """A node's retry and timeout settings: the node's own, else the definition's defaults."""

    max_retries: int
    timeout: float
    backoff: float
    backoff_max: float

    @classmethod
    def of(cls, config: dict[str, Any], node: dict[str, Any]) -> NodePolicy:
        defaults = config.get("defaults") or {}

        def pick(key: str, fallback: float) -> Any:
            return node.get(key, defaults.get(key, fallback))

        return cls(
            max_retries=int(pick("max_retries", DEFAULT_MAX_RETRIES)),
            timeout=float(pick("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
            backoff=float(pick("retry_backoff_seconds", DEFAULT_BACKOFF_SECONDS)),
            backoff_max=float(pick("retry_backoff_max_seconds", DEFAULT_BACKOFF_MAX_SECONDS)),
        )

    def delay_before(self, attempt: int) -> float:
        """Exponential backoff with full jitter before ``attempt`` (2, 3, ...)."""
        ceiling = min(self.backoff_max, self.backoff * (2 ** (attempt - 2)))
        return random.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0


def _grace() -> timedelta:
    return timedelta(seconds=settings.PIPELINE_STALL_GRACE_SECONDS)


def step_for(run: PipelineRun, node_id: str, attempt: int, countdown: float = 0.0) -> Step:
    node = node_index(run.config["nodes"])[node_id]
    policy = NodePolicy.of(run.config, node)
    return Step(run.run_id, node, attempt, policy.timeout, countdown)


def create_run(
    *,
    config: dict[str, Any],
    definition: Any,
    definition_name: str,
    definition_version: int,
    payload: Any,
    source: str,
    trace_id: str | None,
    environment: str,
    incident_id: int | None,
    runner: Runner,
) -> PipelineRun:
    """Store a new run and schedule its entry node (published after the commit)."""
    entry = config["nodes"][0]["id"]
    with transaction.atomic():
        run = PipelineRun.objects.create(
            trace_id=trace_id or str(uuid.uuid4()),
            definition=definition if getattr(definition, "pk", None) else None,
            definition_name=definition_name,
            definition_version=definition_version,
            config=config,
            payload=payload,
            source=source,
            environment=environment,
            incident_id=incident_id,
            current_node=entry,
            node_deadline=timezone.now() + _grace(),
            dispatch_count=1,
        )
        runner.schedule(step_for(run, entry, 1))
    logger.info(
        "run created for %s (entry node %s)",
        definition_name,
        entry,
        extra={"trace_id": run.trace_id, "run_id": run.run_id},
    )
    return run


@dataclass
class _Claim:
    run: PipelineRun
    node: dict[str, Any]
    execution: StageExecution
    token: str
    already_done: bool


def process_node(run_id: str, node_id: str, attempt: int, runner: Runner) -> None:
    """Execute one node of a run (at most once per success) and schedule what follows."""
    claim = _claim(run_id, node_id, attempt, runner)
    if claim is None:
        return
    with bind_run(claim.run.trace_id, run_id):
        if claim.already_done:
            # The outcome was stored but the step after it may not have been: redo only that.
            _finish(claim, None, runner)
            return
        result = _execute(claim)
        _finish(claim, result, runner)


def _claim(run_id: str, node_id: str, attempt: int, runner: Runner) -> _Claim | None:
    now = timezone.now()
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().filter(run_id=run_id).first()
        if run is None:
            logger.warning("run %s no longer exists; dropping node %s", run_id, node_id)
            return None
        if run.is_finished or (run.current_node, run.current_attempt) != (node_id, attempt):
            logger.info("stale message for run %s node %s attempt %s", run_id, node_id, attempt)
            return None
        node = node_index(run.config["nodes"])[node_id]
        policy = NodePolicy.of(run.config, node)
        execution, _ = StageExecution.objects.select_for_update().get_or_create(
            idempotency_key=f"{run_id}:{node_id}:{attempt}",
            defaults={
                "run": run,
                "node_id": node_id,
                "node_type": node["type"],
                "attempt": attempt,
            },
        )
        if execution.status in FINAL_STAGE_STATUSES:
            return _Claim(run, node, execution, execution.claim_token, already_done=True)
        leased = execution.lease_expires_at is not None and execution.lease_expires_at > now
        if execution.status == StageStatus.RUNNING and leased and not runner.redelivered:
            logger.info("node %s of run %s is already running elsewhere", node_id, run_id)
            return None
        lease = now + timedelta(seconds=policy.timeout) + _grace()
        execution.status = StageStatus.RUNNING
        execution.claim_token = str(uuid.uuid4())
        execution.task_id = runner.task_id
        execution.worker = runner.worker
        execution.started_at = now
        execution.lease_expires_at = lease
        execution.save()
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or now
        run.node_deadline = lease
        run.save(update_fields=["status", "started_at", "node_deadline", "updated_at"])
        return _Claim(run, node, execution, execution.claim_token, already_done=False)


def previous_results(run: PipelineRun) -> dict[str, dict[str, Any]]:
    """The final recorded result of every node that has run so far, by node id."""
    results: dict[str, dict[str, Any]] = {}
    for snapshot, node_id in run.stage_executions.filter(
        status__in=FINAL_STAGE_STATUSES
    ).values_list("output_snapshot", "node_id"):
        results[node_id] = snapshot
    return results


def _skip_reason(node: dict[str, Any], results: dict[str, dict], ctx: NodeContext) -> str:
    for ref in node.get("skip_if_errors") or []:
        if results.get(ref, {}).get("errors"):
            return f"skip_if_errors: {ref} had errors"
    test = node.get("skip_if_condition")
    if isinstance(test, str) and test.endswith(".has_errors"):
        # The seed's string form: "<node_id>.has_errors".
        ref = test.removesuffix(".has_errors")
        if results.get(ref, {}).get("errors"):
            return f"skip_if_condition: {test}"
    elif isinstance(test, dict):
        data = conditions.data_for(
            ctx.previous_outputs,
            ctx.payload,
            {"source": ctx.source, "environment": ctx.environment, "incident_id": ctx.incident_id},
        )
        if conditions.evaluate(test, data):
            return "skip_if_condition matched"
    return ""


def _execute(claim: _Claim) -> NodeResult | NodeError:
    run, node = claim.run, claim.node
    results = previous_results(run)
    ctx = NodeContext(
        trace_id=run.trace_id,
        run_id=run.run_id,
        incident_id=run.incident_id,
        payload=run.payload,
        previous_outputs={k: v.get("output", {}) for k, v in results.items()},
        environment=run.environment,
        source=run.source,
        node_id=node["id"],
        attempt=claim.execution.attempt,
    )
    reason = _skip_reason(node, results, ctx)
    if reason:
        return NodeResult(node["id"], node["type"], skipped=True, skip_reason=reason)
    policy = NodePolicy.of(run.config, node)
    started = time.perf_counter()
    try:
        handler = get_node_handler(node["type"])
        with deadline(policy.timeout):
            result = handler.execute(ctx, {**(node.get("config") or {}), "id": node["id"]})
    except NodeError as exc:
        return exc
    except SoftTimeLimitExceeded:
        return NodeTimeoutError(f"node {node['id']} exceeded {policy.timeout:g}s")
    except DatabaseError as exc:
        return NodeError(f"database error: {exc}", retryable=True)
    except Exception as exc:
        # A handler bug must fail this node, not the worker: record it with its traceback.
        logger.exception("node %s raised %s", node["id"], type(exc).__name__)
        error = NodeError(f"{type(exc).__name__}: {exc}", retryable=False)
        error.error_type = type(exc).__name__
        return error
    result.node_id, result.node_type = node["id"], node["type"]
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _finish(claim: _Claim, outcome: NodeResult | NodeError | None, runner: Runner) -> None:
    now = timezone.now()
    node, node_id = claim.node, claim.node["id"]
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=claim.run.pk)
        execution = StageExecution.objects.select_for_update().get(pk=claim.execution.pk)
        current = (run.current_node, run.current_attempt) == (node_id, execution.attempt)
        if run.is_finished or not current or execution.claim_token != claim.token:
            logger.info("node %s lost its lease; another execution owns it", node_id)
            return
        if outcome is not None:
            _record(execution, outcome, now)
            if execution.status == StageStatus.RETRYING:
                policy = NodePolicy.of(run.config, node)
                if execution.attempt <= policy.max_retries:
                    _schedule_retry(run, execution, policy, runner, now)
                    return
                execution.status = StageStatus.FAILED  # retries exhausted
                execution.save(update_fields=["status"])
            if node["type"] == "ingest" and execution.status == StageStatus.SUCCEEDED:
                incident_id = execution.output_snapshot.get("output", {}).get("incident_id")
                if isinstance(incident_id, int):
                    run.incident_id = incident_id
        if execution.status == StageStatus.FAILED and node.get("required", True):
            _end_run(run, now, error=f"Node {node_id} failed: {execution.error_message}")
            return
        nxt = _next_node(run, node, execution)
        if nxt is None:
            _end_run(run, now)
            return
        run.current_node, run.current_attempt = nxt, 1
        run.node_deadline = now + _grace()
        run.dispatch_count += 1
        run.save()
        runner.schedule(step_for(run, nxt, 1))


def _record(execution: StageExecution, outcome: NodeResult | NodeError, now: Any) -> None:
    execution.completed_at = now
    execution.lease_expires_at = None
    if execution.started_at:
        execution.duration_ms = (now - execution.started_at).total_seconds() * 1000
    if isinstance(outcome, NodeError):
        execution.status = StageStatus.RETRYING if outcome.retryable else StageStatus.FAILED
        execution.error_type = getattr(outcome, "error_type", type(outcome).__name__)
        execution.error_message = outcome.message
        execution.error_retryable = outcome.retryable
        execution.output_snapshot = NodeResult(
            execution.node_id, execution.node_type, errors=[outcome.message]
        ).to_dict()
    else:
        snapshot = outcome.to_dict()
        snapshot["next_node"] = outcome.next_node
        execution.output_snapshot = snapshot
        if outcome.skipped:
            execution.status = StageStatus.SKIPPED
        elif outcome.has_errors:
            execution.status = StageStatus.FAILED
            execution.error_type = "NodeError"
            execution.error_message = "; ".join(outcome.errors)
        else:
            execution.status = StageStatus.SUCCEEDED
    execution.save()


def _schedule_retry(
    run: PipelineRun, execution: StageExecution, policy: NodePolicy, runner: Runner, now: Any
) -> None:
    attempt = execution.attempt + 1
    delay = policy.delay_before(attempt)
    logger.warning(
        "node %s attempt %s failed (%s); retrying in %.2fs",
        execution.node_id,
        execution.attempt,
        execution.error_message,
        delay,
    )
    run.current_attempt = attempt
    run.node_deadline = now + timedelta(seconds=delay + policy.timeout) + _grace()
    run.dispatch_count += 1
    run.save()
    runner.schedule(step_for(run, execution.node_id, attempt, countdown=delay))


def _next_node(run: PipelineRun, node: dict[str, Any], execution: StageExecution) -> str | None:
    if node["type"] == "condition" and execution.status == StageStatus.SUCCEEDED:
        return execution.output_snapshot.get("next_node")
    return default_next(run.config["nodes"], node["id"])


def _end_run(run: PipelineRun, now: Any, error: str = "") -> None:
    run.status = RunStatus.FAILED if error else RunStatus.COMPLETED
    run.error_type = "NodeExecutionError" if error else ""
    run.error_message = error
    run.current_node = ""
    run.node_deadline = None
    run.completed_at = now
    run.duration_ms = (now - run.created_at).total_seconds() * 1000
    run.save()
    log = logger.warning if error else logger.info
    log("run %s %s%s", run.run_id, run.status, f": {error}" if error else "")


def recover_stalled_runs(runner: Runner, now: Any = None, limit: int = 500) -> list[str]:
    """Publish again the current node of every run past its deadline; returns their ids."""
    now = now or timezone.now()
    candidates = list(
        PipelineRun.objects.filter(
            status__in=[RunStatus.PENDING, RunStatus.RUNNING], node_deadline__lt=now
        )
        .order_by("node_deadline")
        .values_list("pk", flat=True)[:limit]
    )
    recovered = []
    for pk in candidates:
        with transaction.atomic():
            run = PipelineRun.objects.select_for_update().get(pk=pk)
            if run.is_finished or not run.node_deadline or run.node_deadline >= now:
                continue
            step = step_for(run, run.current_node, run.current_attempt)
            run.node_deadline = now + timedelta(seconds=step.timeout) + _grace()
            run.dispatch_count += 1
            run.save(update_fields=["node_deadline", "dispatch_count", "updated_at"])
            runner.schedule(step)
            recovered.append(run.run_id)
            logger.warning(
                "recovering stalled run %s at node %s attempt %s",
                run.run_id,
                run.current_node,
                run.current_attempt,
                extra={"trace_id": run.trace_id, "run_id": run.run_id},
            )
    return recovered
