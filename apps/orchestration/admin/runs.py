"""Runs in the admin: audit records, read-only (retention deletes them, nobody else); a
header, a timeline of the node executions, outputs and payload, retry and cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html

from apps.orchestration.admin import run_views
from apps.orchestration.models import PipelineRun, StageExecution


class ReadOnly:
    """Audit records: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnly, admin.ModelAdmin):
    change_form_template = "admin/orchestration/pipelinerun/change_form.html"
    list_display = [
        "short_id",
        "definition_name",
        "definition_version",
        "colored_status",
        "current_node",
        "source",
        "incident",
        "created_at",
        "duration",
    ]
    list_filter = ["status", "definition_name", "source", "environment", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["run_id", "trace_id", "incident__title"]
    search_help_text = "Run id, trace id, incident title or incident number."
    list_select_related = ["incident"]
    # The header, timeline and JSON sections come from the template; these are the rest.
    fields = [
        "source",
        "environment",
        "current_node",
        "current_attempt",
        "node_deadline",
        "dispatch_count",
        "started_at",
        "completed_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    class Media:
        css = {"all": ["monitoring/console.css"]}

    @admin.display(description="Run", ordering="run_id")
    def short_id(self, obj: PipelineRun) -> str:
        return obj.run_id[:8]

    @admin.display(description="Status", ordering="status")
    def colored_status(self, obj: PipelineRun) -> str:
        return format_html('<span class="status-{}">{}</span>', obj.status, obj.status)

    @admin.display(description="Duration", ordering="duration_ms")
    def duration(self, obj: PipelineRun) -> str:
        return "–" if obj.duration_ms is None else f"{obj.duration_ms:.0f} ms"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isdigit() and len(term) < 19:
            # An incident by its number, as the incident list shows it.
            found = found | queryset.filter(Q(incident_id=int(term)))
        return found, duplicates

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if run is not None:
            context |= run_views.page_context(run)
            context["can_act"] = request.user.has_perm("orchestration.change_pipelinerun")
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                f"<int:pk>/{name}/",
                self.admin_site.admin_view(view),
                name=f"orchestration_pipelinerun_{name}",
            )
            for name, view in (("retry", run_views.retry), ("cancel", run_views.cancel))
        ]
        return own + super().get_urls()


@admin.register(StageExecution)
class StageExecutionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["idempotency_key", "node_type", "status", "attempt", "worker", "duration_ms"]
    list_filter = ["node_type", "status"]
    search_fields = ["run__run_id", "run__trace_id", "idempotency_key", "task_id"]
    readonly_fields = [f.name for f in StageExecution._meta.get_fields() if f.concrete]
    list_select_related = ["run"]
