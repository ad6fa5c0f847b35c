"""Definitions: list, create, get, update, delete, validate, dry run, execute.

Paths and answers are the seed's (``/orchestration/definitions/...``); the built-in
definitions are listed, readable and executable by name, and read-only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.orchestration.api.base import ApiView, queued_body, wait_for
from apps.orchestration.api.definition_serializers import (
    DefinitionDetailSerializer,
    DefinitionListSerializer,
    DefinitionWriteSerializer,
    DryRunSerializer,
    ExecuteSerializer,
    QueuedSerializer,
    ValidationResultSerializer,
    describe,
)
from apps.orchestration.api.errors import Conflict, DefinitionInvalid
from apps.orchestration.api.run_serializers import RunResultSerializer
from apps.orchestration.defaults import BUILTINS, builtin_definition, resolve_definition
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.dispatch import runs_inline
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.plan import plan
from apps.orchestration.results import run_result

ERRORS = {400: OpenApiResponse(description="Invalid input: {error, fields|errors}")}


def find(name: str, *, active_only: bool = False) -> PipelineDefinition:
    definition = resolve_definition(name, active_only=active_only)
    if definition is None:
        prefix = "Active definition" if active_only else "Definition"
        raise NotFound(f"{prefix} not found: {name}")
    return definition


def saved(name: str) -> PipelineDefinition:
    definition = PipelineDefinition.objects.filter(name=name).first()
    if definition is None:
        if builtin_definition(name) is not None:
            raise MethodNotAllowed(
                "change",
                f"{name!r} is a built-in definition and read-only; copy its config "
                "into a definition of your own to change it",
            )
        raise NotFound(f"Definition not found: {name}")
    return definition


class DefinitionListView(ApiView):
    @extend_schema(
        summary="List definitions (built-ins first)",
        operation_id="definitions_list",
        parameters=[OpenApiParameter("active", bool, description="Only active definitions")],
        responses=DefinitionListSerializer,
    )
    def get(self, request: Request) -> Response:
        active = request.query_params.get("active", "false").lower()
        if active not in ("true", "false", "1", "0"):
            raise DefinitionInvalid(["active must be true or false"])
        qs = PipelineDefinition.objects.all()
        if active in ("true", "1"):
            qs = qs.filter(is_active=True)
        builtins = [builtin_definition(name) for name in BUILTINS]
        definitions = [describe(d, full=False) for d in [*builtins, *qs] if d is not None]
        return Response({"definitions": definitions, "count": len(definitions)})

    @extend_schema(
        summary="Create a definition",
        request=DefinitionWriteSerializer,
        responses={201: DefinitionDetailSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = DefinitionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data["name"]
        if PipelineDefinition.objects.filter(name=name).exists():
            raise Conflict(f"Definition already exists: {name}")
        definition = serializer.save()
        return Response(describe(definition), status=status.HTTP_201_CREATED)


class DefinitionDetailView(ApiView):
    @extend_schema(
        summary="Get a definition (secrets masked)", responses=DefinitionDetailSerializer
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(describe(find(name)))

    @extend_schema(
        summary="Update a definition (fields given only; a config change bumps the version)",
        request=DefinitionWriteSerializer,
        responses={200: DefinitionDetailSerializer, **ERRORS},
    )
    def put(self, request: Request, name: str) -> Response:
        return self._update(request, name)

    @extend_schema(
        summary="Update some fields of a definition",
        request=DefinitionWriteSerializer,
        responses={200: DefinitionDetailSerializer, **ERRORS},
    )
    def patch(self, request: Request, name: str) -> Response:
        return self._update(request, name)

    def _update(self, request: Request, name: str) -> Response:
        definition = saved(name)
        serializer = DefinitionWriteSerializer(definition, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(describe(serializer.save()))

    @extend_schema(
        summary="Delete a definition (its runs keep its name; or PATCH is_active=false)",
        responses={204: None},
    )
    def delete(self, request: Request, name: str) -> Response:
        saved(name).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DefinitionValidateView(ApiView):
    required_scope = "read"

    @extend_schema(
        summary="Validate a definition", request=None, responses=ValidationResultSerializer
    )
    def post(self, request: Request, name: str) -> Response:
        definition = find(name)
        errors = DefinitionBasedOrchestrator(definition).validate()
        return Response({"name": definition.name, "valid": not errors, "errors": errors})


class DefinitionDryRunView(ApiView):
    required_scope = "read"

    @extend_schema(
        summary="The order the nodes would run in, every branch shown; nothing runs",
        request=None,
        responses=DryRunSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        definition = find(name)
        errors = DefinitionBasedOrchestrator(definition).validate()
        planned: dict[str, Any] = (
            plan(definition.config)
            if not errors
            else {"entry": None, "order": [], "steps": [], "paths": []}
        )
        return Response({"name": definition.name, "valid": not errors, "errors": errors, **planned})


class DefinitionExecuteView(ApiView):
    @extend_schema(
        summary="Run a definition: 200 with the result if it finishes within `wait` seconds, "
        "else 202 with its status URL",
        request=ExecuteSerializer,
        responses={200: RunResultSerializer, 202: QueuedSerializer, **ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        definition = find(name, active_only=True)
        body = ExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        args = dict(body.validated_data)
        wait = args.pop("wait")
        orchestrator = DefinitionBasedOrchestrator(definition)
        errors = orchestrator.validate()
        if errors:
            raise DefinitionInvalid(errors)
        if runs_inline():
            return Response(orchestrator.execute(**args))
        run = wait_for(orchestrator.start(**args), wait)
        if run.is_finished:
            return Response(run_result(run))
        return Response(queued_body(run), status=status.HTTP_202_ACCEPTED)
