"""Driving noise scenarios: webhooks through Django's request handling (runs in-process), a
loopback receiver that keeps every message, a simulated clock, and the beat sweeps by hand."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.alerts.tests.webhook_support import post
from apps.noise import sweeps
from apps.noise.clock import ManualClock
from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from tests.support.sink import CountingSink

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


class MessageSink(CountingSink):
    """The counting receiver, also keeping each message's JSON body in arrival order."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._messages_lock = threading.Lock()
        super().__init__()

    def _record(self, body: bytes, key: str) -> None:
        super()._record(body, key)
        with self._messages_lock:
            self.messages.append(json.loads(body))

    def kinds(self) -> list[str]:
        """The noise kind of each message ("" for one without a decision)."""
        with self._messages_lock:
            return [
                ((m.get("context") or {}).get("noise") or {}).get("kind", "") for m in self.messages
            ]


def _kind(message: dict[str, Any]) -> str:
    return ((message.get("context") or {}).get("noise") or {}).get("kind", "")


def pipeline(*, analyze: dict[str, Any] | None = None, **definition_keys: Any) -> dict[str, Any]:
    """ingest → analyze → notify (the "sink" channel), plus definition-level keys."""
    return {
        "version": "1.0",
        **definition_keys,
        "nodes": [
            {"id": "ingest", "type": "ingest", "config": {"driver": "generic"}},
            {"id": "analyze", "type": "intelligence", "config": analyze or {"provider": "local"}},
            {"id": "notify", "type": "notify", "config": {"channels": ["sink"]}},
        ],
    }


def alert(fingerprint: str = "disk-db-1", *, status: str = "firing", **fields: Any) -> dict:
    return {
        "title": fields.pop("title", "Disk full on db-1"),
        "severity": fields.pop("severity", "critical"),
        "status": status,
        "fingerprint": fingerprint,
        "labels": fields.pop("labels", {"host": "db-1", "team": "storage"}),
        **fields,
    }


class Scenario:
    """One pipeline, one receiver, one simulated clock."""

    def __init__(self, clock: ManualClock, sink: MessageSink, config: dict[str, Any]) -> None:
        self.clock = clock
        self.sink = sink
        NotificationChannel.objects.get_or_create(
            name="sink", defaults={"driver": "generic", "config": {"endpoint_url": sink.url}}
        )
        self.definition = PipelineDefinition.objects.create(name="noisy", config=config)

    def push(self, body: dict[str, Any], **headers: str):
        return post(f"/alerts/webhook/generic/?definition={self.definition.name}", body, **headers)

    def sweep(self) -> int:
        """What beat does every interval."""
        now = self.clock.now()
        return sweeps.send_reminders(now) + sweeps.end_silences(now) + sweeps.end_flapping(now)

    def every(self, step: timedelta, until: timedelta, action: Any) -> None:
        """Call ``action(elapsed)`` then sweep, every ``step`` from now until ``until``."""
        elapsed = timedelta(0)
        while elapsed < until:
            action(elapsed)
            self.sweep()
            self.clock.advance(step)
            elapsed += step
