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


def queued(
    run_id: str, trace_id: str, *, replayed: bool = False, run_status: str | None = None
) -> JsonResponse:
    """A new run: 202 ``{"status": "queued", ...}``.

    A repeated delivery: 200 with the earlier run and its real status (``pending``,
    ``running``, ``completed``, ``failed``, ``cancelled``), ``"replayed": true`` and the
    ``Idempotent-Replayed`` header, so a sender never mistakes a failed run for a fresh one.
    """
    body = {
        "status": run_status if replayed and run_status else "queued",
        "run_id": run_id,
        "trace_id": trace_id,
        "status_url": f"/orchestration/runs/{run_id}/",
    }
    if not replayed:
        return JsonResponse(body, status=202)
    response = JsonResponse({**body, "replayed": True}, status=200)
    response["Idempotent-Replayed"] = "true"
    return response
