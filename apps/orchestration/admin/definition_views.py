"""The definition page's actions: dry run, run now, duplicate, schedule, revision diffs.

Each one calls the service the API and CLI use (``plan``, ``DefinitionBasedOrchestrator``,
``schedules``), so the admin behaves like them.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.plan import plan
from apps.orchestration.secrets import mask_config
from apps.orchestration.validation import validate_config

OPTS = PipelineDefinition._meta


def _definition(request: HttpRequest, pk: int, perm: str) -> PipelineDefinition:
    if not request.user.has_perm(f"orchestration.{perm}_pipelinedefinition"):
        raise PermissionDenied
    return get_object_or_404(PipelineDefinition, pk=pk)


def _page(request: HttpRequest, template: str, definition: Any, title: str, **extra: Any) -> Any:
    from django.contrib import admin

    context = {
        **admin.site.each_context(request),
        "opts": OPTS,
        "original": definition,
        "title": title,
        "change_url": reverse(
            "admin:orchestration_pipelinedefinition_change", args=[definition.pk]
        ),
        **extra,
    }
    return TemplateResponse(request, f"orchestration/admin/{template}", context)


def dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The order the nodes would run in, every branch shown; nothing runs (the API's dry run)."""
    definition = _definition(request, pk, "view")
    errors = validate_config(definition.config)
    planned = plan(definition.config) if not errors else None
    return _page(
        request, "dry_run.html", definition, f"Dry run of {definition.name}",
        errors=errors, plan=planned,
    )  # fmt: skip


def run_now(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: a payload to start with. POST: start a run (on the workers, or in-process without
    a broker) and go to its page."""
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator

    definition = _definition(request, pk, "change")
    payload_text = request.POST.get("payload", "{}") if request.method == "POST" else "{}"
    error = ""
    if request.method == "POST":
        try:
            payload = json.loads(payload_text or "{}")
            if not isinstance(payload, dict):
                raise ValueError("the payload must be a JSON object")
            run = DefinitionBasedOrchestrator(definition).start(
                payload=payload,
                source="admin",
                environment=request.POST.get("environment") or "production",
            )
        except ValueError as exc:
            error = f"Invalid payload: {exc}"
        except DefinitionInvalidError as exc:
            error = "The definition is invalid: " + "; ".join(exc.errors)
        else:
            messages.success(request, f"Run {run.run_id} started.")
            return HttpResponseRedirect(
                reverse("admin:orchestration_pipelinerun_change", args=[run.pk])
            )
    return _page(
        request, "run_now.html", definition, f"Run {definition.name} now",
        payload=payload_text, error=error,
    )  # fmt: skip


def make_copy(definition: PipelineDefinition, author: str) -> PipelineDefinition:
    """A copy named "<name> (copy)" (or "(copy 2)", ...), inactive so it starts nothing until
    an operator says so."""
    base = f"{definition.name} (copy)"
    name, n = base, 1
    while PipelineDefinition.objects.filter(name=name).exists():
        n += 1
        name = f"{definition.name} (copy {n})"
    copy = PipelineDefinition(
        name=name[:255],
        description=definition.description,
        config=definition.config,
        tags=definition.tags,
        is_active=False,
        created_by=author,
    )
    copy.save(author=author)
    return copy


def duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseRedirect(
            reverse("admin:orchestration_pipelinedefinition_change", args=[pk])
        )
    if not request.user.has_perm("orchestration.add_pipelinedefinition"):
        raise PermissionDenied
    definition = get_object_or_404(PipelineDefinition, pk=pk)
    copy = make_copy(definition, request.user.get_username())
    messages.success(request, f"Created {copy.name} (inactive) from {definition.name}.")
    return HttpResponseRedirect(
        reverse("admin:orchestration_pipelinedefinition_change", args=[copy.pk])
    )


def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the definition from beat every N or on a cron expression (``schedules``)."""
    from apps.orchestration import schedules

    definition = _definition(request, pk, "change")
    error = ""
    values = {"every": "", "cron": "", "name": "", "environment": "production"}
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            with transaction.atomic():
                created = schedules.create_schedule(
                    definition.name,
                    every=values["every"] or None,
                    cron=values["cron"] or None,
                    name=values["name"] or None,
                    environment=values["environment"] or "production",
                )
        except schedules.ScheduleError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Scheduled {definition.name}: {created.when}.")
            return HttpResponseRedirect(
                reverse("admin:orchestration_pipelinedefinition_change", args=[pk])
            )
    return _page(
        request, "schedule.html", definition, f"Schedule {definition.name}",
        error=error, values=values, existing=schedules.list_schedules(definition.name),
    )  # fmt: skip


def revisions(request: HttpRequest, pk: int) -> HttpResponse:
    """The diff between two versions (``?a=`` and ``?b=``; default: ``b``'s predecessor),
    secrets masked on both sides."""
    from apps.orchestration.revisions import diff_lines

    definition = _definition(request, pk, "view")
    history = list(definition.revisions.order_by("-version"))
    by_version = {r.version: r for r in history}
    try:
        b = int(request.GET.get("b") or definition.version)
        a = int(request.GET.get("a") or b - 1)
    except ValueError:
        a, b = definition.version - 1, definition.version
    older, newer = by_version.get(a), by_version.get(b)
    lines = (
        diff_lines(mask_config(older.config), mask_config(newer.config), f"v{a}", f"v{b}")
        if older and newer
        else []
    )
    return _page(
        request, "revisions.html", definition, f"{definition.name}: v{a} → v{b}",
        history=history, a=a, b=b, lines=lines, missing=not (older and newer),
    )  # fmt: skip
