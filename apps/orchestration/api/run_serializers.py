"""Serializers for runs: the seed's result dictionary, list entries, node executions."""

from __future__ import annotations

from typing import Any

import django_filters
from rest_framework import serializers

from apps.noise.api import run_decisions
from apps.orchestration.models import PipelineRun, RunStatus, StageExecution
from apps.orchestration.secrets import mask_config


class RunResultSerializer(serializers.Serializer):
    """The seed's result dictionary (``run_pipeline --json``, ``execute``, run status)."""

    trace_id = serializers.CharField()
    run_id = serializers.CharField()
    definition = serializers.CharField()
    definition_version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    incident_id = serializers.IntegerField(allow_null=True)
    executed_nodes = serializers.ListField(child=serializers.CharField())
    skipped_nodes = serializers.ListField(child=serializers.CharField())
    node_results = serializers.DictField(child=serializers.DictField())
    duration_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    current_node = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class ExecutionSerializer(serializers.ModelSerializer):
    """One attempt at one node: where and when it ran, and how it ended."""

    queue = serializers.SerializerMethodField()

    class Meta:
        model = StageExecution
        fields = [
            "node_id", "node_type", "attempt", "status", "starts", "task_id", "worker",
            "queue", "created_at", "started_at", "completed_at", "duration_ms",
            "error_type", "error_message", "error_retryable",
        ]  # fmt: skip

    def get_queue(self, execution: StageExecution) -> str:
        from workers.app import queue_for_node

        nodes = self.context.get("nodes") or {}
        node = nodes.get(execution.node_id) or {}
        return queue_for_node(execution.node_type, node.get("queue"))


class RunSummarySerializer(serializers.ModelSerializer):
    definition = serializers.CharField(source="definition_name")
    error = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = PipelineRun
        fields = [
            "run_id", "trace_id", "definition", "definition_version", "status", "source",
            "environment", "incident_id", "current_node", "current_attempt", "error",
            "created_at", "started_at", "completed_at", "duration_ms", "status_url",
        ]  # fmt: skip

    def get_error(self, run: PipelineRun) -> str | None:
        return run.error_message or None

    def get_status_url(self, run: PipelineRun) -> str:
        return f"/orchestration/runs/{run.run_id}/"


class RunDetailSerializer(RunResultSerializer):
    """The result dictionary plus every node execution and the (masked) config it ran."""

    source = serializers.CharField()
    environment = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    executions = ExecutionSerializer(many=True)
    config = serializers.DictField()
    noise = serializers.ListField(
        child=serializers.DictField(),
        help_text="Noise control's decisions this run acted on (docs/noise.md); the full "
        "path is at /orchestration/runs/<run_id>/trace/",
    )


def run_detail(run: PipelineRun, result: dict[str, Any]) -> dict[str, Any]:
    nodes = {
        n.get("id"): n
        for n in (run.config.get("nodes") or [] if isinstance(run.config, dict) else [])
        if isinstance(n, dict)
    }
    executions = ExecutionSerializer(
        run.stage_executions.order_by("id"), many=True, context={"nodes": nodes}
    ).data
    return {
        **result,
        "source": run.source,
        "environment": run.environment,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "executions": executions,
        "config": mask_config(run.config),
        "noise": run_decisions(run.run_id),
    }


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    definition = django_filters.CharFilter(field_name="definition_name", max_length=255)
    source = django_filters.CharFilter(max_length=64)
    incident = django_filters.NumberFilter(
        field_name="incident_id", min_value=1, max_value=2**63 - 1
    )
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = PipelineRun
        fields = ["status", "definition", "source", "incident", "since", "until"]
