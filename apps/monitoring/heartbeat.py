"""Record and read heartbeats (``Heartbeat`` rows): one cheap UPSERT per tick."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.monitoring.models import Heartbeat

RECOVERY = "recovery"


def beat(name: str, detail: str = "") -> None:
    """Record that ``name`` ran now (what it did in ``detail``).

    One UPDATE statement on one table (no transaction holding locks while it waits for
    others): a tick can never take part in a deadlock. The row is created the first time.
    """
    values = {"at": timezone.now(), "detail": detail[:255]}
    if not Heartbeat.objects.filter(name=name).update(**values):
        Heartbeat.objects.get_or_create(name=name, defaults=values)


def last(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def age_seconds(name: str, now: datetime | None = None) -> float | None:
    """Seconds since ``name`` last ran, or None when it never has."""
    found = last(name)
    if found is None:
        return None
    return max(0.0, ((now or timezone.now()) - found.at).total_seconds())
