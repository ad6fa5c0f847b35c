"""JSON answers shared by the webhook views: every error is ``{"error": ..., ...}``."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

# How long a client should wait after a 503 (database or broker unavailable): long enough for
# a restart, short enough that monitoring systems with their own retry timers come back soon.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


def error(
    message: str, status: int, *, retry_after: int | None = None, **extra: Any
) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def unavailable(message: str, **extra: Any) -> JsonResponse:
    return error(message, 503, retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS, **extra)


def queued(run_id: str, trace_id: str, *, replayed: bool = False) -> JsonResponse:
    """The 202 body; a replayed delivery gets the identical body plus a header saying so."""
    response = JsonResponse(
        {
            "status": "queued",
            "run_id": run_id,
            "trace_id": trace_id,
            "status_url": f"/orchestration/runs/{run_id}/",
        },
        status=202,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
