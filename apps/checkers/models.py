"""Stored check results: every measurement, the host that made it and the run it belongs to."""

from __future__ import annotations

from django.db import models

from apps.checkers.checkers import CHECKER_REGISTRY, CheckStatus


class CheckRun(models.Model):
    """One checker's result, as measured on ``hostname``."""

    checker_name = models.CharField(
        max_length=32, choices=[(name, name) for name in CHECKER_REGISTRY], db_index=True
    )
    status = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in CheckStatus], db_index=True
    )
    message = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    hostname = models.CharField(max_length=255, db_index=True)
    trace_id = models.CharField(max_length=64, blank=True, db_index=True)
    # A pipeline run's id when the check ran inside one; null for commands and ad-hoc calls.
    run_id = models.CharField(max_length=36, null=True, blank=True, db_index=True)
    duration_ms = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["checker_name", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.checker_name} on {self.hostname}: {self.status}"
