"""The seed's result dictionary, built from what the database recorded for a run."""

from __future__ import annotations

from typing import Any

from apps.orchestration.models import PipelineRun, StageStatus

EXECUTED = (StageStatus.SUCCEEDED, StageStatus.FAILED)


def run_result(run: PipelineRun) -> dict[str, Any]:
    """trace_id, run_id, definition, definition_version, status, incident_id, executed_nodes,
    skipped_nodes, node_results, duration_ms, error — plus current_node and timestamps."""
    executed: list[str] = []
    skipped: list[str] = []
    node_results: dict[str, dict[str, Any]] = {}
    attempts: dict[str, int] = {}
    for ex in run.stage_executions.order_by("id"):
        attempts[ex.node_id] = max(attempts.get(ex.node_id, 0), ex.attempt)
        if ex.status not in (*EXECUTED, StageStatus.SKIPPED):
            continue
        (skipped if ex.status == StageStatus.SKIPPED else executed).append(ex.node_id)
        node_results[ex.node_id] = {
            **ex.output_snapshot,
            "status": ex.status,
            "attempts": attempts[ex.node_id],
            "task_id": ex.task_id,
            "worker": ex.worker,
        }
    return {
        "trace_id": run.trace_id,
        "run_id": run.run_id,
        "definition": run.definition_name,
        "definition_version": run.definition_version,
        "status": run.status,
        "incident_id": run.incident_id,
        "executed_nodes": executed,
        "skipped_nodes": skipped,
        "node_results": node_results,
        "duration_ms": run.duration_ms,
        "error": run.error_message or None,
        "current_node": run.current_node or None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "completed_at": run.completed_at.isoformat() if run.completed_at else None,
    }
