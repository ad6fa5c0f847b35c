"""Heartbeats: when a periodic job last ran, stored where every process can read it."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last tick of a periodic job (``recovery``: beat's recovery task, or the embedded
    sweeper). The web process's cache is its own, so the tick is a row, not a cache key."""

    name = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
