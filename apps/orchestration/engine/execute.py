"""Running a claimed node: skip rules, the handler under its timeout, typed outcomes.

``execute`` never raises for anything the node or its configuration did: every failure comes
back as a ``NodeError`` that the engine records. Only a lost database connection escapes
(nothing could be recorded; the Celery task retries and takes back its own claim).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, InterfaceError, OperationalError

from apps.orchestration import conditions
from apps.orchestration.engine import sql
from apps.orchestration.engine.claim import Claim
from apps.orchestration.engine.policy import NodePolicy
from apps.orchestration.errors import NodeError, NodeTimeoutError
from apps.orchestration.models import PipelineRun
from apps.orchestration.nodes import NodeContext, NodeResult, get_node_handler
from apps.orchestration.timeouts import deadline

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (OperationalError, InterfaceError)


def previous_results(run: PipelineRun) -> dict[str, dict[str, Any]]:
    """The recorded result of every node that has finished so far, by node id."""
    return sql.finished_results(run.pk)


def skip_reason(node: dict[str, Any], results: dict[str, dict], ctx: NodeContext) -> str:
    """Why ``node`` should be skipped (``skip_if_errors``, ``skip_if_condition``), or ""."""
    for ref in node.get("skip_if_errors") or []:
        if results.get(ref, {}).get("errors"):
            return f"skip_if_errors: {ref} had errors"
    test = node.get("skip_if_condition")
    if isinstance(test, str) and test.endswith(".has_errors"):
        # The seed's string form: "<node_id>.has_errors".
        if results.get(test.removesuffix(".has_errors"), {}).get("errors"):
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


def execute(claim: Claim) -> NodeResult | NodeError:
    """Run the node; every failure comes back as a ``NodeError`` saying if it is retryable."""
    node = claim.node
    policy = NodePolicy.of(claim.run.config, node)
    started = time.perf_counter()
    try:
        ctx, results = _context(claim)
        reason = skip_reason(node, results, ctx)
        if reason:
            return NodeResult(node["id"], node["type"], skipped=True, skip_reason=reason)
        handler = get_node_handler(node["type"])
        with deadline(policy.timeout):
            result = handler.execute(ctx, {**(node.get("config") or {}), "id": node["id"]})
        if not isinstance(result, NodeResult):
            raise TypeError(f"handler returned {type(result).__name__}, not a NodeResult")
    except NodeError as exc:
        return exc
    except SoftTimeLimitExceeded:
        return NodeTimeoutError(f"node {node['id']} exceeded {policy.timeout:g}s")
    except CONNECTION_ERRORS as exc:
        # The database dropped mid-node: another attempt may well succeed.
        return _typed(NodeError(f"database unavailable: {exc}", retryable=True), exc)
    except DatabaseError as exc:
        # Bad data or SQL (DataError, IntegrityError, ...): the same input fails again.
        logger.exception("node %s hit a database error", node["id"])
        return _typed(NodeError(f"{type(exc).__name__}: {exc}", retryable=False), exc)
    except Exception as exc:
        # A handler bug (or a bad test in skip_if_condition) must fail this node, not the
        # worker, and not loop: record it with its type.
        logger.exception("node %s raised %s", node["id"], type(exc).__name__)
        return _typed(NodeError(f"{type(exc).__name__}: {exc}", retryable=False), exc)
    result.node_id, result.node_type = node["id"], node["type"]
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _context(claim: Claim) -> tuple[NodeContext, dict[str, dict[str, Any]]]:
    run, node = claim.run, claim.node
    # The entry node has no predecessors (definitions have no cycles): skip the query; on
    # PostgreSQL the results came with the run.
    is_entry = run.config["nodes"][0]["id"] == node["id"]
    if claim.results is not None:
        results = claim.results
    else:
        results = {} if is_entry else previous_results(run)
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
        claim_token=claim.token,
        timeout=NodePolicy.of(run.config, node).timeout,
        run_config=run.config,
        definition_id=run.definition_id,
        definition_name=run.definition_name,
        starts=claim.execution.starts,
    )
    return ctx, results


def _typed(error: NodeError, cause: BaseException) -> NodeError:
    error.error_type = type(cause).__name__
    return error
