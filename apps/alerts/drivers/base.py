"""The alert driver contract and the helpers every source parser shares.

A driver is a pure function from one source's webhook JSON to ``NormalizedAlert`` objects:
no database, no network, no settings. That keeps every parser testable with a fixture file
and safe to call from the webhook view before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from apps.alerts.errors import PayloadNotRecognizedError


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; incidents escalate by comparing ranks."""
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class AlertEvent(StrEnum):
    """What the source says happened, beyond firing/resolved."""

    NONE = ""
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"


# Source vocabularies that are common to several tools (labels, tags, priorities).
_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(
        ["critical", "crit", "disaster", "high", "error", "page", "fatal", "emergency", "p1", "p2"],
        Severity.CRITICAL,
    ),
    **dict.fromkeys(
        ["warning", "warn", "average", "medium", "moderate", "major", "minor", "p3"],
        Severity.WARNING,
    ),
    **dict.fromkeys(
        ["info", "information", "informational", "low", "none", "notice", "debug", "ok", "p4"],
        Severity.INFO,
    ),
    "p5": Severity.INFO,
    "not classified": Severity.INFO,
}


def normalize_severity(value: Any, default: Severity = Severity.WARNING) -> Severity:
    """Map a free-form severity/priority word to ours; ``default`` when unknown or missing."""
    if value is None:
        return default
    return _SEVERITY_WORDS.get(str(value).strip().lower(), default)


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 strings or epoch seconds/milliseconds/nanoseconds to an aware UTC datetime.

    Alertmanager and Grafana send ``0001-01-01T00:00:00Z`` for "not ended"; that and anything
    unparseable become ``None`` rather than an error, because a bad timestamp should not cost
    us the alert.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        # Sources disagree on units; the magnitude tells them apart (year 2001+ in seconds).
        for divisor in (1, 1e3, 1e6, 1e9):
            if number / divisor < 1e10:
                number /= divisor
                break
        try:
            return datetime.fromtimestamp(number, tz=UTC) if number > 0 else None
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isdigit():
        return parse_timestamp(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year <= 1:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stable_fingerprint(*parts: Any) -> str:
    """A deterministic short hash of ``parts`` for sources that send no id of their own."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def str_dict(value: Any) -> dict[str, str]:
    """Labels and annotations as ``str -> str`` (sources send numbers, nulls, nested junk)."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        out[str(key)] = item if isinstance(item, str) else json.dumps(item, default=str)
    return out


def first_text(mapping: dict[str, Any], *keys: str) -> str:
    """The first non-empty value among ``keys`` as text ("" if none)."""
    for key in keys:
        value = mapping.get(key)
        if value not in (None, "", [], {}):
            return str(value)
    return ""


def require_dict(payload: Any, source: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadNotRecognizedError(
            f"{source} payload must be a JSON object, got {type(payload).__name__}",
            source=source,
        )
    return payload


@dataclass(frozen=True)
class NormalizedAlert:
    """One alert in our vocabulary, whatever the source.

    ``fingerprint`` identifies the alert across firing and resolved deliveries; ``group_key``
    says which alerts belong in one incident (the source's group, or the alert alone).
    ``event`` carries source lifecycle events that are not a status (acknowledged).
    """

    fingerprint: str
    name: str
    status: AlertStatus
    severity: Severity
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    group_key: str = ""
    event: AlertEvent = AlertEvent.NONE
    external_event: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        """JSON-friendly form (times as ISO strings); what fixture expectations compare."""
        data: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "name": self.name,
            "status": self.status.value,
            "severity": self.severity.value,
            "description": self.description,
            "labels": self.labels,
            "annotations": self.annotations,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "group_key": self.group_key,
            "event": self.event.value,
            "external_event": self.external_event,
        }
        if include_raw:
            data["raw"] = self.raw
        return data


class BaseAlertDriver(ABC):
    """One monitoring source. Subclasses set ``name`` and implement ``parse``.

    ``detect`` answers cheaply whether a payload looks like this source's, so auto-detection
    can try every driver; it must never raise.
    """

    name: ClassVar[str] = "base"

    def detect(self, payload: Any) -> bool:
        """True when ``payload`` looks like this source's webhook body."""
        return False

    def validate(self, payload: Any) -> bool:
        """Alias of ``detect`` kept for callers written against the seed."""
        return self.detect(payload)

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> list[NormalizedAlert]:
        """Turn one webhook body into normalized alerts (at least one).

        Pure: no database, no network. Raises ``PayloadNotRecognizedError`` when the body is
        not in this source's format and ``UnknownEventError`` when it is, but describes an
        event type this driver does not handle.
        """

    def not_recognized(self, why: str) -> PayloadNotRecognizedError:
        return PayloadNotRecognizedError(f"not a {self.name} payload: {why}", source=self.name)
