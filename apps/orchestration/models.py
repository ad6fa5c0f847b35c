"""Pipeline definitions, runs and node executions: the database is the source of truth."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import F


def new_id() -> str:
    return str(uuid.uuid4())


class PipelineDefinitionQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        # A bulk update that touches the config is still a new version of it.
        if "config" in kwargs and "version" not in kwargs:
            kwargs["version"] = F("version") + 1
        if "config" not in kwargs:
            return super().update(**kwargs)
        pks = list(self.values_list("pk", flat=True))
        updated = super().update(**kwargs)
        from apps.orchestration import revisions

        for definition in type(self)(self.model, using=self.db).filter(pk__in=pks):
            revisions.record(definition)
        return updated


class PipelineDefinition(models.Model):
    """A reusable pipeline: JSON config of nodes (see docs/pipelines.md for the format)."""

    name = models.CharField(max_length=255, unique=True, db_index=True)
    description = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(
        default=1, help_text="Incremented whenever the config changes."
    )
    config = models.JSONField(default=dict, help_text="Nodes, their order and defaults.")
    tags = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    created_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PipelineDefinitionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["is_active", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def save(self, *args: Any, author: str = "", **kwargs: Any) -> None:
        """Save; a changed config bumps the version, and every new version (the first one
        too) is recorded in the revision history, with ``author`` when the writer knows."""
        bumped = False
        created = self.pk is None
        if not created:
            stored = type(self).objects.filter(pk=self.pk).values_list("config", flat=True).first()
            if stored is not None and stored != self.config:
                # F() so two concurrent edits both count, whatever version each one loaded.
                self.version = F("version") + 1
                bumped = True
            created = stored is None
        super().save(*args, **kwargs)
        if bumped:
            self.refresh_from_db(fields=["version"])
        if bumped or created:
            from apps.orchestration import revisions

            revisions.record(self, author)

    def get_nodes(self) -> list[dict[str, Any]]:
        nodes = self.config.get("nodes", []) if isinstance(self.config, dict) else []
        return nodes if isinstance(nodes, list) else []

    def get_defaults(self) -> dict[str, Any]:
        defaults = self.config.get("defaults", {}) if isinstance(self.config, dict) else {}
        return defaults if isinstance(defaults, dict) else {}

    def get_entry_node(self) -> dict[str, Any] | None:
        nodes = self.get_nodes()
        return nodes[0] if nodes else None


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_RUN_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class PipelineRun(models.Model):
    """One execution of a pipeline, with a frozen copy of the config it runs."""

    # Unique by a constraint and indexed through Meta (not unique=/db_index=): on PostgreSQL
    # those add a second, LIKE-only index that every insert and update would also write.
    run_id = models.CharField(max_length=36, default=new_id, editable=False)
    trace_id = models.CharField(max_length=64)
    definition = models.ForeignKey(
        PipelineDefinition, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    definition_name = models.CharField(max_length=255)
    definition_version = models.PositiveIntegerField(default=1)
    config = models.JSONField(default=dict)
    payload = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64, default="unknown")
    environment = models.CharField(max_length=64, default="production")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    current_node = models.CharField(max_length=128, blank=True, default="")
    current_attempt = models.PositiveIntegerField(default=1)
    node_deadline = models.DateTimeField(
        null=True, blank=True, help_text="When the current node must have progressed by."
    )
    dispatch_count = models.PositiveIntegerField(
        default=0, help_text="Messages published for this run's steps (recovery included)."
    )
    dispatch_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the message published for the current step expires; empty when the "
        "step waits in the database (a long backoff) and nothing is published yet.",
    )
    incident = models.ForeignKey(
        "alerts.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_runs",
        help_text="Set by the ingest node (or given when the run starts).",
    )
    error_type = models.CharField(max_length=128, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # Every index is written by every webhook's insert: only what a query needs. No index
        # names a column that a node's move of the run changes (node_deadline, current_node,
        # ...), so those updates are HOT: they write no index entry at all (migration 0007).
        # The recovery sweep reads the open runs through the partial index.
        indexes = [
            models.Index(
                fields=["created_at"],
                name="pipelinerun_open",
                condition=models.Q(status__in=["pending", "running"]),
            ),
            models.Index(fields=["trace_id"], name="pipelinerun_trace_id"),
            models.Index(fields=["definition_name"], name="pipelinerun_definition_name"),
        ]
        constraints = [models.UniqueConstraint(fields=["run_id"], name="pipelinerun_run_id_uniq")]

    def __str__(self) -> str:
        return f"{self.definition_name} run {self.run_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in OPEN_RUN_STATUSES


class StageStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    RETRYING = "retrying"


# An execution in one of these states has its outcome stored: no claim may reopen it.
# RETRYING is final for its attempt (the next attempt is a new execution).
FINAL_STAGE_STATUSES = (
    StageStatus.SUCCEEDED,
    StageStatus.FAILED,
    StageStatus.SKIPPED,
    StageStatus.RETRYING,
)
# The node's result as later nodes see it (a RETRYING attempt's error is not a result).
RESULT_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED)


class StageExecution(models.Model):
    """One attempt at one node of a run; ``idempotency_key`` = ``run_id:node_id:attempt``."""

    # Indexed by (run, node_id) below, which serves lookups by run alone too.
    run = models.ForeignKey(
        PipelineRun, on_delete=models.CASCADE, related_name="stage_executions", db_index=False
    )
    node_id = models.CharField(max_length=128)
    node_type = models.CharField(max_length=32)
    attempt = models.PositiveIntegerField(default=1)
    idempotency_key = models.CharField(max_length=255)
    # Not indexed: a claim, a heartbeat and the stored outcome update only unindexed columns,
    # so PostgreSQL can update the row in place (HOT) without touching any index.
    status = models.CharField(
        max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    task_id = models.CharField(max_length=255, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    claim_token = models.CharField(
        max_length=36, blank=True, default="", help_text="Who holds the claim; empty once final."
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed by the holder's heartbeat while it runs."
    )
    starts = models.PositiveIntegerField(
        default=1, help_text="How many times a worker started this attempt."
    )
    output_snapshot = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(max_length=128, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_retryable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "node_id"])]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="stageexecution_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class ScheduleSlot(models.Model):
    """One firing of a schedule: beat firing a slot twice starts one run (unique key)."""

    schedule = models.CharField(max_length=200)
    slot_start = models.DateTimeField()
    run_id = models.CharField(max_length=36, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot_start"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "slot_start"], name="one_run_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.slot_start:%Y-%m-%d %H:%M:%S} -> {self.run_id or '-'}"


# Imported here so Django registers the model with this app.
from apps.orchestration.apikeys import ApiKey  # noqa: E402
from apps.orchestration.revisions import PipelineDefinitionRevision  # noqa: E402

__all__ = [
    "OPEN_RUN_STATUSES",
    "ApiKey",
    "PipelineDefinition",
    "PipelineDefinitionRevision",
    "PipelineRun",
    "RunStatus",
    "ScheduleSlot",
    "StageExecution",
    "StageStatus",
]
