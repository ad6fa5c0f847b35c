"""Runs: list with filters, detail with every node execution, retry and cancel."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.orchestration.api.base import ApiView, queued_body, status_url
from apps.orchestration.api.errors import Conflict
from apps.orchestration.api.pagination import Pages
from apps.orchestration.api.run_serializers import (
    RunDetailSerializer,
    RunFilter,
    RunSummarySerializer,
    run_detail,
)
from apps.orchestration.engine import control
from apps.orchestration.models import PipelineRun
from apps.orchestration.results import run_result

RUN_ID_MAX = 36


def find_run(run_id: str) -> PipelineRun:
    run = PipelineRun.objects.filter(run_id=run_id).first() if len(run_id) <= RUN_ID_MAX else None
    if run is None:
        raise NotFound(f"Run not found: {run_id}")
    return run


class RunListView(ApiView, generics.ListAPIView):
    """Newest first. Filters: status, definition, source, incident, since, until (ISO 8601)."""

    queryset = PipelineRun.objects.all().order_by("-created_at", "-id")
    serializer_class = RunSummarySerializer
    filterset_class = RunFilter
    pagination_class = Pages

    @extend_schema(summary="List runs, newest first")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class RunDetailView(ApiView):
    @extend_schema(
        summary="A run: the seed's result plus every node execution", responses=RunDetailSerializer
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = find_run(run_id)
        return Response(run_detail(run, run_result(run)))


class RunRetryView(ApiView):
    @extend_schema(
        summary="Retry a failed run from its failed node (a new attempt in the same run)",
        request=None,
        responses={
            200: RunDetailSerializer,
            202: OpenApiResponse(description="Retrying on the workers: {status, run_id, ...}"),
            409: OpenApiResponse(description="The run is not failed"),
        },
    )
    def post(self, request: Request, run_id: str) -> Response:
        find_run(run_id)
        try:
            run = control.retry_run(run_id)
        except control.RunStateError as exc:
            raise Conflict(str(exc)) from None
        run.refresh_from_db()
        if run.is_finished:
            return Response(run_detail(run, run_result(run)))
        return Response(queued_body(run), status=status.HTTP_202_ACCEPTED)


class RunCancelView(ApiView):
    @extend_schema(
        summary="Cancel a pending or running run at its next node boundary",
        request=None,
        responses={
            200: OpenApiResponse(description="{status, run_id, trace_id, status_url}"),
            409: OpenApiResponse(description="The run has already finished"),
        },
    )
    def post(self, request: Request, run_id: str) -> Response:
        find_run(run_id)
        try:
            run = control.cancel_run(run_id, reason=f"cancelled through the API by {request.user}")
        except control.RunStateError as exc:
            raise Conflict(str(exc)) from None
        return Response(
            {
                "status": run.status,
                "run_id": run.run_id,
                "trace_id": run.trace_id,
                "status_url": status_url(run.run_id),
            }
        )
