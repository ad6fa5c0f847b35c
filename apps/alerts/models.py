"""Alerts as received, the incidents they are grouped into, and their state history."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.alerts.drivers import DRIVER_REGISTRY, AlertStatus, Severity

SOURCE_CHOICES = [(name, name) for name in DRIVER_REGISTRY]
SEVERITY_CHOICES = [(s.value, s.value) for s in Severity]
ALERT_STATUS_CHOICES = [(s.value, s.value) for s in AlertStatus]


class Incident(models.Model):
    """A problem an operator deals with: one or more alerts of one source group."""

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"
        CLOSED = "closed"

    ACTIVE_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)

    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, default="warning")
    source = models.CharField(max_length=32, choices=SOURCE_CHOICES)
    group_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["source", "group_key", "status"])]
        constraints = [
            # At most one active incident per group: concurrent ingests of one group cannot
            # open two; the loser retries and joins the winner's.
            models.UniqueConstraint(
                fields=["source", "group_key"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="alerts_one_active_incident_per_group",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title} ({self.status}, {self.severity})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class Alert(models.Model):
    """One alert of one source, identified by its fingerprint across deliveries."""

    source = models.CharField(max_length=32, choices=SOURCE_CHOICES)
    fingerprint = models.CharField(max_length=255)
    name = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=ALERT_STATUS_CHOICES)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES)
    description = models.TextField(blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    raw_payload = models.JSONField(default=dict, blank=True)
    group_key = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Every delivery that mentions the alert counts here, also the unchanged re-pushes the
    # change gate answers without a run (apps/noise/gate.py): nothing sent is unaccounted for.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    seen_count = models.PositiveIntegerField(default=0)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "fingerprint"], name="alerts_unique_source_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.name} ({self.status})"


class AlertHistory(models.Model):
    """One state change of an alert (and the incident it belonged to at the time)."""

    class Event(models.TextChoices):
        CREATED = "created"
        FIRING = "firing"
        RESOLVED = "resolved"
        SEVERITY_CHANGED = "severity_changed"
        ACKNOWLEDGED = "acknowledged"
        UNACKNOWLEDGED = "unacknowledged"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="history")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    old_status = models.CharField(max_length=16, blank=True, default="")
    new_status = models.CharField(max_length=16, blank=True, default="")
    old_severity = models.CharField(max_length=16, blank=True, default="")
    new_severity = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "alert history"

    def __str__(self) -> str:
        return f"{self.alert_id} {self.event} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class WebhookDelivery(models.Model):
    """One accepted webhook delivery, remembered so a repeat starts no second run.

    ``dedup_key`` is a hash of the delivery's identity (the sender's ``Idempotency-Key``, or the
    source, alerts and their status). It is unique and written in the run's transaction, so of
    two concurrent identical deliveries exactly one stores its run; the other hits the
    constraint and answers with the winner's run. Rows older than their key's window no longer
    count and are replaced by the next delivery.
    """

    source = models.CharField(max_length=64)
    # Unique by a constraint (Meta): unique=True would add a LIKE-only index on PostgreSQL
    # that every webhook's insert writes too.
    dedup_key = models.CharField(max_length=64)
    # Null only inside the transaction that claims the key and then creates the run: claiming
    # first makes a concurrent duplicate wait on the key instead of doing the work twice.
    run = models.ForeignKey(
        "orchestration.PipelineRun",
        null=True,
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="webhookdelivery_dedup_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.source} delivery {self.dedup_key[:12]} -> run {self.run_id}"
