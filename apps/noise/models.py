"""Noise control's rows: per-incident memory, the decision log, silences, the gate's memory."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.noise import clock
from apps.noise import matchers as matcher_rules
from apps.noise.decide import KINDS

KIND_CHOICES = [(k, k) for k in KINDS]


class NoiseState(models.Model):
    """What noise control remembers about one incident (see ``decide.State``).

    Locked (``select_for_update``) by every decision about the incident, so two runs or two
    sweeps deciding at once serialise instead of both notifying.
    """

    incident = models.OneToOneField(
        "alerts.Incident", primary_key=True, on_delete=models.CASCADE, related_name="noise"
    )
    # The definition whose runs notify about this incident: reminders run it again.
    definition = models.ForeignKey(
        "orchestration.PipelineDefinition", null=True, blank=True, on_delete=models.SET_NULL
    )
    definition_name = models.CharField(max_length=255, blank=True, default="")
    told = models.BooleanField(default=False, help_text="Anyone notified about it yet.")
    incident_status = models.CharField(max_length=16, blank=True, default="")
    last_notified_at = models.DateTimeField(null=True, blank=True)
    last_notified_kind = models.CharField(max_length=16, blank=True, default="")
    next_reminder_at = models.DateTimeField(null=True, blank=True, db_index=True)
    recent_notifications = models.JSONField(default=list, blank=True)
    folded = models.PositiveIntegerField(default=0)
    digest_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    flap_changes = models.JSONField(default=dict, blank=True)
    flapping_since = models.DateTimeField(null=True, blank=True)
    flap_quiet_until = models.DateTimeField(null=True, blank=True, db_index=True)
    analysis_at = models.DateTimeField(null=True, blank=True)
    analysis_run_id = models.CharField(max_length=36, blank=True, default="")
    analysis = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "incident noise state"

    def __str__(self) -> str:
        return f"noise state of incident {self.incident_id}"


class NoiseDecision(models.Model):
    """One decision about notifying (or not), with its reason: the "why" log.

    ``stage`` says where it was taken: ``gate`` (the webhook, no run), ``ingest`` (a run's
    ingest node) or ``sweep`` (beat's periodic work, which then starts the run). Unchanged
    re-pushes of the same alerts are one row counting ``repeats`` until the incident's next
    other decision (a streak).
    """

    class Stage(models.TextChoices):
        GATE = "gate"
        INGEST = "ingest"
        SWEEP = "sweep"

    at = models.DateTimeField(db_index=True)
    last_at = models.DateTimeField(help_text="The latest repeat of an unchanged streak.")
    repeats = models.PositiveIntegerField(default=1)
    stage = models.CharField(max_length=8, choices=Stage.choices)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    notify = models.BooleanField(default=False)
    analyze = models.BooleanField(default=False)
    reuse_analysis = models.BooleanField(default=False)
    folded = models.PositiveIntegerField(default=0)
    reason = models.TextField()
    incident = models.ForeignKey(
        "alerts.Incident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="noise_decisions",
    )
    source = models.CharField(max_length=64, blank=True, default="")
    fingerprint = models.CharField(max_length=255, blank=True, default="", db_index=True)
    fingerprints = models.JSONField(default=list, blank=True)
    digest = models.CharField(max_length=64, blank=True, default="")
    dedup_key = models.CharField(max_length=64, blank=True, default="")
    run_id = models.CharField(max_length=36, blank=True, default="", db_index=True)
    trace_id = models.CharField(max_length=64, blank=True, default="")
    definition_name = models.CharField(max_length=255, blank=True, default="")
    silence = models.ForeignKey(
        "noise.Silence", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    # Sweeps claim their slot ("reminder:<incident>:<due time>") before starting the run:
    # a second firing of the same slot fails here and starts nothing.
    slot = models.CharField(max_length=200, null=True, blank=True, unique=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["incident", "id"]),
            # The change gate's lookups: the streak to count a repeat on, and the latest
            # decision that ends streaks (anything but the gate's).
            models.Index(
                fields=["incident", "digest", "id"],
                condition=Q(stage="gate"),
                name="noise_gate_streaks",
            ),
            models.Index(
                fields=["incident", "id"],
                condition=~Q(stage="gate"),
                name="noise_streak_breakers",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "stage"],
                condition=~Q(run_id=""),
                name="noise_one_decision_per_run_and_stage",
            )
        ]

    def __str__(self) -> str:
        verdict = "notify" if self.notify else "no notification"
        return f"{self.kind} ({verdict}) at {self.at:%Y-%m-%d %H:%M:%S}"


class Silence(models.Model):
    """A maintenance window: matching alerts are stored as usual but notify no one."""

    matchers = models.JSONField(help_text='[{"name": "severity", "op": "=", "value": "critical"}]')
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    created_by = models.CharField(max_length=255)
    comment = models.TextField()
    # On the noise clock, like the window itself: compared with it (a silence created or
    # expired before it started was never in force).
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Set once the end-of-window sweep told the incidents still firing ("still firing after
    # maintenance"); an expired silence is processed once.
    end_handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"silence #{self.pk}: {self.describe()}"

    def parsed(self) -> list[matcher_rules.Matcher]:
        return matcher_rules.from_json(self.matchers)

    def describe(self) -> str:
        try:
            return matcher_rules.describe(self.parsed())
        except matcher_rules.MatcherError:
            return "(invalid matchers)"

    @property
    def was_in_force(self) -> bool:
        """False for a window that ended before it began (expired while pending, or created
        already over): its end tells nobody anything."""
        return self.ends_at > max(self.starts_at, self.created_at)

    def state(self, now: datetime) -> str:
        if self.ends_at <= now:
            return "expired"
        return "active" if self.starts_at <= now else "pending"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            matcher_rules.from_json(self.matchers)
        except matcher_rules.MatcherError as exc:
            errors["matchers"] = [str(exc)]
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = ["must be after starts_at"]
        if not (self.created_by or "").strip():
            errors["created_by"] = ["say who created the silence"]
        if not (self.comment or "").strip():
            errors["comment"] = ["say why (the comment is what operators read later)"]
        if errors:
            raise ValidationError(errors)


class GateMemory(models.Model):
    """The state of an alert in the last delivery the change gate passed on to a run.

    The gate skips a delivery only when it matches both the stored alert and this memory:
    a run passed but not yet ingested (its change not stored yet) thus never makes a later
    delivery of the old state look unchanged.
    """

    source = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=255)
    state = models.CharField(max_length=64)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "fingerprint"], name="noise_gate_memory_key")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.fingerprint} last passed as {self.state}"
