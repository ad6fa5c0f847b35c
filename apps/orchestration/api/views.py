"""JSON views: definitions (list, create, get, update, validate, execute) and run status."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.orchestration.api.auth import api_auth
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.dispatch import broker_configured
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.results import run_result
from apps.orchestration.validation import validate_config

EDITABLE = ("description", "config", "tags", "is_active")


class BadRequest(Exception):
    pass


def error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("JSON body must be an object")
    return body


def describe(definition: PipelineDefinition, full: bool = True) -> dict[str, Any]:
    data = {
        "name": definition.name,
        "description": definition.description,
        "version": definition.version,
        "is_active": definition.is_active,
        "node_count": len(definition.get_nodes()),
        "tags": definition.tags,
        "updated_at": definition.updated_at.isoformat(),
    }
    if full:
        data |= {
            "config": definition.config,
            "created_by": definition.created_by,
            "created_at": definition.created_at.isoformat(),
        }
    return data


def status_url(run: PipelineRun) -> str:
    return f"/orchestration/runs/{run.run_id}/"


@csrf_exempt
@api_auth
@require_http_methods(["GET", "POST"])
def definition_list(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        qs = PipelineDefinition.objects.all()
        if request.GET.get("active", "false").lower() == "true":
            qs = qs.filter(is_active=True)
        definitions = [describe(d, full=False) for d in qs]
        return JsonResponse({"definitions": definitions, "count": len(definitions)})
    try:
        body = json_body(request)
    except BadRequest as exc:
        return error(str(exc), 400)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        return error("Field 'name' is required", 400)
    errors = validate_config(body.get("config"))
    if errors:
        return error("Pipeline definition invalid", 400, errors=errors)
    try:
        definition = PipelineDefinition.objects.create(
            name=name.strip(),
            created_by=body.get("created_by", "api"),
            **{k: body[k] for k in EDITABLE if k in body},
        )
    except IntegrityError:
        return error(f"Definition already exists: {name}", 409)
    return JsonResponse(describe(definition), status=201)


@csrf_exempt
@api_auth
@require_http_methods(["GET", "PUT", "PATCH"])
def definition_detail(request: HttpRequest, name: str) -> JsonResponse:
    definition = PipelineDefinition.objects.filter(name=name).first()
    if definition is None:
        return error(f"Definition not found: {name}", 404)
    if request.method == "GET":
        return JsonResponse(describe(definition))
    try:
        body = json_body(request)
    except BadRequest as exc:
        return error(str(exc), 400)
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        return error(f"Fields not editable: {unknown}. Editable: {list(EDITABLE)}", 400)
    if "config" in body:
        errors = validate_config(body["config"])
        if errors:
            return error("Pipeline definition invalid", 400, errors=errors)
    for key, value in body.items():
        setattr(definition, key, value)
    definition.save()  # bumps the version when the config changed
    return JsonResponse(describe(definition))


@csrf_exempt
@api_auth
@require_POST
def definition_validate(request: HttpRequest, name: str) -> JsonResponse:
    definition = PipelineDefinition.objects.filter(name=name).first()
    if definition is None:
        return error(f"Definition not found: {name}", 404)
    errors = DefinitionBasedOrchestrator(definition).validate()
    return JsonResponse({"name": definition.name, "valid": not errors, "errors": errors})


@csrf_exempt
@api_auth
@require_POST
def definition_execute(request: HttpRequest, name: str) -> JsonResponse:
    definition = PipelineDefinition.objects.filter(name=name, is_active=True).first()
    if definition is None:
        return error(f"Active definition not found: {name}", 404)
    try:
        body = json_body(request)
    except BadRequest as exc:
        return error(str(exc), 400)
    orchestrator = DefinitionBasedOrchestrator(definition)
    errors = orchestrator.validate()
    if errors:
        return error("Pipeline definition invalid", 400, errors=errors)
    incident_id = body.get("incident_id")
    if incident_id is not None:
        from apps.alerts.models import Incident

        if not isinstance(incident_id, int) or not Incident.objects.filter(pk=incident_id).exists():
            return error(f"incident_id {incident_id!r} is not an existing incident", 400)
    args = {
        "payload": body.get("payload", {}),
        "source": str(body.get("source", "api")),
        "trace_id": body.get("trace_id"),
        "environment": str(body.get("environment", "production")),
        "incident_id": incident_id,
    }
    if broker_configured():
        run = orchestrator.start(**args)
        return JsonResponse(
            {
                "status": "queued",
                "run_id": run.run_id,
                "trace_id": run.trace_id,
                "status_url": status_url(run),
            },
            status=202,
        )
    return JsonResponse(orchestrator.execute(**args))


@api_auth
@require_GET
def run_detail(request: HttpRequest, run_id: str) -> JsonResponse:
    run = PipelineRun.objects.filter(run_id=run_id).first()
    if run is None:
        return error(f"Run not found: {run_id}", 404)
    return JsonResponse(run_result(run))
