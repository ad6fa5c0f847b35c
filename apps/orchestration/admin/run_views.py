"""What a run's page shows (header, timeline, outputs) and its two actions, which call
``engine.control`` exactly as the API and the CLI do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from apps.intelligence.redaction import redact
from apps.orchestration.engine import control
from apps.orchestration.models import PipelineRun, StageExecution
from apps.orchestration.secrets import mask_config


def pretty(value: Any) -> str:
    """Indented JSON with secret-named keys and key-like strings redacted."""
    return json.dumps(redact(value), indent=2, sort_keys=True, default=str)


@dataclass
class TimelineRow:
    execution: StageExecution
    queue: str
    offset_ms: float | None
    left_pct: float
    width_pct: float
    output: str


def timeline(run: PipelineRun, executions: list[StageExecution]) -> list[TimelineRow]:
    """One row per node execution (attempt), its bar placed by start and duration on the
    run's own span (created → finished, or now while it runs)."""
    from workers.app import queue_for_node

    start = run.created_at
    end = run.completed_at or timezone.now()
    for ex in executions:
        for moment in (ex.completed_at, ex.started_at):
            if moment and moment > end:
                end = moment
    span = max((end - start).total_seconds(), 0.001)
    nodes = (
        {n.get("id"): n for n in run.config.get("nodes") or [] if isinstance(n, dict)}
        if isinstance(run.config, dict)
        else {}
    )
    rows = []
    for ex in executions:
        node = nodes.get(ex.node_id, {})
        began: datetime | None = ex.started_at or ex.created_at
        offset = (began - start).total_seconds() if began else None
        if ex.duration_ms is not None:
            length = ex.duration_ms / 1000
        elif began:
            length = ((ex.completed_at or timezone.now()) - began).total_seconds()
        else:
            length = 0.0
        left = min(max((offset or 0) / span * 100, 0.0), 99.5)
        rows.append(
            TimelineRow(
                execution=ex,
                queue=queue_for_node(ex.node_type, node.get("queue")),
                offset_ms=None if offset is None else offset * 1000,
                left_pct=round(left, 2),
                width_pct=round(min(max(length / span * 100, 0.5), 100 - left), 2),
                output=pretty(ex.output_snapshot) if ex.output_snapshot else "",
            )
        )
    return rows


def page_context(run: PipelineRun) -> dict[str, Any]:
    executions = list(run.stage_executions.order_by("id"))
    end = run.completed_at or timezone.now()
    return {
        "run": run,
        "timeline": timeline(run, executions),
        "elapsed_ms": run.duration_ms
        if run.duration_ms is not None
        else (end - run.created_at).total_seconds() * 1000,
        "payload_json": pretty(run.payload),
        "config_json": json.dumps(mask_config(run.config), indent=2),
        "can_retry": run.status == "failed",
        "can_cancel": not run.is_finished,
        "definition_url": reverse(
            "admin:orchestration_pipelinedefinition_change", args=[run.definition_id]
        )
        if run.definition_id
        else "",
        "revision_url": reverse(
            "admin:orchestration_pipelinedefinition_revisions", args=[run.definition_id]
        )
        + f"?b={run.definition_version}"
        if run.definition_id
        else "",
        "incident_url": reverse("admin:alerts_incident_change", args=[run.incident_id])
        if run.incident_id
        else "",
    }


def _act(request: HttpRequest, pk: int) -> PipelineRun:
    if not request.user.has_perm("orchestration.change_pipelinerun"):
        raise PermissionDenied
    return get_object_or_404(PipelineRun, pk=pk)


def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry from the failed node: ``control.retry_run``, the API's and CLI's code path."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = _act(request, pk)
    try:
        control.retry_run(run.run_id)
    except control.RunStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Run {run.run_id} retried from its failed node.")
    return HttpResponseRedirect(reverse("admin:orchestration_pipelinerun_change", args=[pk]))


def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = _act(request, pk)
    try:
        control.cancel_run(run.run_id, reason=f"cancelled in the admin by {request.user}")
    except control.RunStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Run {run.run_id} cancelled.")
    return HttpResponseRedirect(reverse("admin:orchestration_pipelinerun_change", args=[pk]))
