"""Admin: definitions edited as validated JSON; runs with their node executions inline."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.orchestration.models import PipelineDefinition, PipelineRun, StageExecution
from apps.orchestration.validation import validate_config


class PipelineDefinitionForm(forms.ModelForm):
    class Meta:
        model = PipelineDefinition
        fields = ["name", "description", "is_active", "config", "tags", "created_by"]
        widgets = {"config": forms.Textarea(attrs={"rows": 30, "cols": 100})}

    def clean_config(self) -> Any:
        config = self.cleaned_data["config"]
        errors = validate_config(config)
        if errors:
            raise forms.ValidationError(errors)
        return config


@admin.register(PipelineDefinition)
class PipelineDefinitionAdmin(admin.ModelAdmin):
    form = PipelineDefinitionForm
    list_display = ["name", "version", "is_active", "node_count", "created_by", "updated_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["name", "description", "created_by"]
    readonly_fields = ["version", "created_at", "updated_at"]
    ordering = ["-updated_at"]
    fieldsets = [
        ("Identification", {"fields": ["name", "description", "is_active", "created_by"]}),
        (
            "Configuration",
            {
                "fields": ["config"],
                "description": "Pipeline config as JSON (docs/pipelines.md). Validated on save; "
                "the version goes up when it changes.",
            },
        ),
        ("Metadata", {"fields": ["tags", "version", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Nodes")
    def node_count(self, obj: PipelineDefinition) -> int:
        return len(obj.get_nodes())

    def save_model(self, request: HttpRequest, obj: PipelineDefinition, form: Any, change: bool):
        if not obj.created_by:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


class StageExecutionInline(admin.TabularInline):
    model = StageExecution
    extra = 0
    can_delete = False
    fields = [
        "node_id",
        "node_type",
        "attempt",
        "status",
        "task_id",
        "worker",
        "started_at",
        "duration_ms",
        "error_type",
        "error_message",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = [
        "run_id",
        "definition_name",
        "definition_version",
        "status",
        "current_node",
        "source",
        "created_at",
        "duration_ms",
    ]
    list_filter = ["status", "source", "environment", "definition_name"]
    search_fields = ["run_id", "trace_id", "definition_name"]
    inlines = [StageExecutionInline]
    readonly_fields = [
        f.name for f in PipelineRun._meta.get_fields() if f.concrete and f.name != "id"
    ] + ["pretty_config"]
    exclude = ["config"]

    @admin.display(description="Config (frozen at start)")
    def pretty_config(self, obj: PipelineRun) -> str:
        return json.dumps(obj.config, indent=2)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(StageExecution)
class StageExecutionAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "node_type", "status", "attempt", "worker", "duration_ms"]
    list_filter = ["node_type", "status"]
    search_fields = ["run__run_id", "run__trace_id", "idempotency_key", "task_id"]
    readonly_fields = [f.name for f in StageExecution._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
