"""Notification channels and the delivery ledger."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apps.notify.drivers import DRIVER_REGISTRY, get_driver


def driver_choices() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in DRIVER_REGISTRY.items()]


class NotificationChannel(models.Model):
    """A configured destination: a driver plus its config (validated on every save)."""

    name = models.CharField(max_length=100, unique=True)
    driver = models.CharField(max_length=32, choices=driver_choices, db_index=True)
    config = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.driver})"

    def clean(self) -> None:
        if self.driver not in DRIVER_REGISTRY:
            # The field's choices validation reports this one already.
            return
        errors = get_driver(self.driver).validate_config(self.config)
        if errors:
            raise ValidationError({"config": errors})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every writer (admin, API, wizard, shell) gets the same validation: a channel
        # that cannot send is refused when saved, not discovered at 3 a.m.
        self.full_clean()
        super().save(*args, **kwargs)

    def masked_config(self) -> dict[str, Any]:
        """The config with secrets replaced by ``****``, safe to display or log."""
        if self.driver not in DRIVER_REGISTRY:
            return {}
        return get_driver(self.driver).masked_config(self.config)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # The request went out and no answer came back (a read timeout, a connection dropped
    # after sending): the receiver may or may not have it. Resent once, with the same key.
    UNKNOWN = "unknown"


class Delivery(models.Model):
    """One notification of one channel by one pipeline node of one run.

    The unique key is what makes notifications at-most-once per (run, node, channel): a
    retried or redelivered node claims this row before sending and skips a channel whose
    row says ``sent``.
    """

    run_id = models.CharField(max_length=64)
    node_id = models.CharField(max_length=100)
    channel = models.CharField(max_length=120, help_text="Channel name, or inline:<driver>.")
    driver = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    retryable = models.BooleanField(default=False)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Claim token of the node execution sending it; empty when nobody is.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        # The dashboard's "last delivery / last error" per channel.
        indexes = [models.Index(fields=["channel", "-updated_at"], name="notify_delivery_channel")]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "node_id", "channel"], name="notify_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} (run {self.run_id}, node {self.node_id})"

    @property
    def idempotency_key(self) -> str:
        """The same for every send of this (run, node, channel): receivers that honour
        ``Idempotency-Key`` (or PagerDuty's ``dedup_key``) drop a resend."""
        return idempotency_key(self.run_id, self.node_id, self.channel)


def idempotency_key(run_id: str, node_id: str, channel: str) -> str:
    digest = hashlib.sha256(f"{run_id}:{node_id}:{channel}".encode()).hexdigest()
    return f"alertpipes-{digest[:40]}"
