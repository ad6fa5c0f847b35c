"""Definitions in the admin: the JSON editor, per-node errors, the graph, revision history,
and the operator's actions (dry run, run now, duplicate, schedule: ``definition_views``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.orchestration.admin import definition_views as views
from apps.orchestration.admin.definition_forms import PipelineDefinitionForm
from apps.orchestration.graph_svg import node_errors, render_svg
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.validation import validate_config


@admin.register(PipelineDefinition)
class PipelineDefinitionAdmin(admin.ModelAdmin):
    form = PipelineDefinitionForm
    change_form_template = "admin/orchestration/pipelinedefinition/change_form.html"
    list_display = ["name", "version", "is_active", "node_count", "runs_link", "updated_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["name", "description", "created_by"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at", "history"]
    ordering = ["-updated_at"]
    actions = ["duplicate_selected"]
    fieldsets = [
        ("Identification", {"fields": ["name", "description", "is_active"]}),
        ("Configuration", {"fields": ["config"]}),
        ("History", {"fields": ["version", "history"], "classes": ["collapse"]}),
        ("Metadata", {"fields": ["tags", "created_by", "created_at", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["monitoring/console.css"]}

    @admin.display(description="Nodes")
    def node_count(self, obj: PipelineDefinition) -> int:
        return len(obj.get_nodes())

    @admin.display(description="Runs")
    def runs_link(self, obj: PipelineDefinition) -> str:
        url = reverse("admin:orchestration_pipelinerun_changelist")
        return format_html('<a href="{}?definition_name={}">runs</a>', url, obj.name)

    @admin.display(description="Revisions")
    def history(self, obj: PipelineDefinition) -> SafeString:
        rows = list(obj.revisions.order_by("-version")[:50]) if obj.pk else []
        if not rows:
            return mark_safe("–")
        url = reverse("admin:orchestration_pipelinedefinition_revisions", args=[obj.pk])
        return format_html(
            '<table class="revisions"><tr><th>Version</th><th>Saved</th><th>By</th>'
            "<th></th></tr>{}</table>",
            format_html_join(
                "",
                '<tr data-version="{}"><td>v{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                (
                    (
                        r.version,
                        r.version,
                        r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        r.author or "–",
                        format_html('<a href="{}?b={}">diff with previous</a>', url, r.version)
                        if r.version > 1
                        else "",
                    )
                    for r in rows
                ),
            ),
        )

    def save_model(
        self, request: HttpRequest, obj: PipelineDefinition, form: Any, change: bool
    ) -> None:
        if not obj.created_by:
            obj.created_by = request.user.get_username()
        obj.save(author=request.user.get_username())

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        form = context["adminform"].form
        obj = kwargs.get("obj") or context.get("original")
        if form.is_bound and form.submitted_config is not None:
            config, errors = form.submitted_config, form.config_errors
        elif obj is not None:
            config = obj.config
            errors = validate_config(config)
        else:
            config, errors = None, []
        by_node, general = node_errors(config, errors)
        nodes = config.get("nodes") if isinstance(config, dict) else []
        nodes = nodes if isinstance(nodes, list) else []
        context["graph_svg"] = mark_safe(render_svg(config, errors)) if config else ""  # noqa: S308 - every text in it is escaped
        context["node_errors"] = [
            (_label(nodes, index), messages) for index, messages in sorted(by_node.items())
        ]
        context["general_errors"] = general
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        actions = {
            "dry-run": ("dry_run", views.dry_run),
            "run": ("run", views.run_now),
            "duplicate": ("duplicate", views.duplicate),
            "schedule": ("schedule", views.schedule),
            "revisions": ("revisions", views.revisions),
        }
        own = [
            path(
                f"<int:pk>/{segment}/",
                self.admin_site.admin_view(view),
                name=f"orchestration_pipelinedefinition_{name}",
            )
            for segment, (name, view) in actions.items()
        ]
        return own + super().get_urls()

    @admin.action(description="Duplicate selected definitions", permissions=["add"])
    def duplicate_selected(self, request: HttpRequest, queryset: Any) -> None:
        for definition in queryset:
            copy = views.make_copy(definition, request.user.get_username())
            self.message_user(request, f"Created {copy.name} from {definition.name}.")


def _label(nodes: list[Any], index: int) -> str:
    node = nodes[index] if index < len(nodes) else None
    if isinstance(node, dict) and isinstance(node.get("id"), str):
        return node["id"]
    return f"node {index} (no id)"
