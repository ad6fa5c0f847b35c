"""What every API view shares: NUL-free path and query input, lookups that answer 404."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.orchestration.models import PipelineRun

MAX_PATH_ARG = 255


class ApiView(APIView):
    """Base of every API view. ``required_scope`` (a scope or ``{method: scope}``) overrides
    the default: ``read`` for GET/HEAD/OPTIONS, ``write`` otherwise."""

    required_scope: str | dict[str, str] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # PostgreSQL refuses NUL in text: stop it before it reaches a query.
        for key, value in kwargs.items():
            if isinstance(value, str) and ("\x00" in value or len(value) > MAX_PATH_ARG):
                raise ParseError(f"Invalid {key} in the path")
        for key, values in request.query_params.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                raise ParseError(f"Query parameter {key!r} has a NUL character")
        super().initial(request, *args, **kwargs)


def status_url(run_id: str) -> str:
    return f"/orchestration/runs/{run_id}/"


def queued_body(run: PipelineRun) -> dict[str, Any]:
    return {
        "status": "queued" if not run.is_finished else run.status,
        "run_id": run.run_id,
        "trace_id": run.trace_id,
        "status_url": status_url(run.run_id),
    }


def wait_for(run: PipelineRun, seconds: float) -> PipelineRun:
    """Poll the run until it finishes or ``seconds`` pass; returns the latest row."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while not run.is_finished and time.monotonic() < deadline:
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 1.5, 0.5)
        run.refresh_from_db()
    return run
