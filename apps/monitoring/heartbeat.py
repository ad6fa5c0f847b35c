"""Record and read heartbeats (``Heartbeat`` rows): one cheap UPSERT per tick."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.monitoring.models import Heartbeat

RECOVERY = "recovery"


def beat(name: str, detail: str = "") -> None:
    """Record that ``name`` ran now (what it did in ``detail``)."""
    Heartbeat.objects.update_or_create(
        name=name, defaults={"at": timezone.now(), "detail": detail[:255]}
    )


def last(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def age_seconds(name: str, now: datetime | None = None) -> float | None:
    """Seconds since ``name`` last ran, or None when it never has."""
    found = last(name)
    if found is None:
        return None
    return max(0.0, ((now or timezone.now()) - found.at).total_seconds())
