"""A definition's noise settings: ``on_unchanged``, ``repeat_interval`` and the ``noise`` object.

Durations are whole seconds (``14400``) or Alertmanager-style strings (``"4h"``,
``"1h30m"``, ``"90s"``, ``"1d"``); ``0`` turns the mechanism off. The JSON Schema fragments
here are merged into the pipeline schema (``apps/orchestration/schema.py``); ``errors``
adds what a schema cannot say (a duration longer than a year).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

ON_UNCHANGED = ("skip", "run")
MAX_DURATION_SECONDS = 366 * 24 * 3600
_DURATION_RE = re.compile(r"^(?:[0-9]+[smhd])+$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DURATION_SCHEMA: dict[str, Any] = {
    "type": ["integer", "string"],
    "minimum": 0,
    "maximum": MAX_DURATION_SECONDS,
    "pattern": _DURATION_RE.pattern,
}
DEFINITION_PROPERTIES: dict[str, Any] = {
    "on_unchanged": {"enum": list(ON_UNCHANGED)},
    "repeat_interval": DURATION_SCHEMA,
    "noise": {
        "type": "object",
        "properties": {
            "notify_resolved": {"type": "boolean"},
            "analyze_resolved": {"type": "boolean"},
            "flap_threshold": {"type": "integer", "minimum": 1, "maximum": 1000},
            "flap_window": DURATION_SCHEMA,
            "max_notifications_per_minute": {"type": "integer", "minimum": 0, "maximum": 10000},
            "analysis_cooldown": DURATION_SCHEMA,
        },
        "additionalProperties": False,
    },
}


class DurationError(ValueError):
    """A duration that is neither whole seconds nor ``<n>s|m|h|d`` parts."""


def parse_duration(value: Any) -> timedelta:
    """``14400``, ``"4h"``, ``"1h30m"`` → a timedelta; ``DurationError`` otherwise."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and _DURATION_RE.match(value.strip()):
        seconds = sum(
            int(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(r"([0-9]+)([smhd])", value)
        )
    else:
        raise DurationError(f"{value!r} is not a duration (use seconds, or e.g. '4h', '30m')")
    if not 0 <= seconds <= MAX_DURATION_SECONDS:
        raise DurationError(f"{value!r} is outside 0 to {MAX_DURATION_SECONDS} seconds")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """``timedelta(hours=4)`` → ``"4h"``; ``"1h30m"``; ``"0s"``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class NoiseSettings:
    """Noise control for one definition. The defaults are what a definition that says
    nothing gets (and the built-in pipelines)."""

    on_unchanged: str = "skip"
    repeat_interval: timedelta = timedelta(hours=4)  # Alertmanager's default
    notify_resolved: bool = True
    analyze_resolved: bool = False
    flap_threshold: int = 4  # more state changes than this inside flap_window = flapping
    flap_window: timedelta = timedelta(minutes=30)
    max_notifications_per_minute: int = 5  # per incident; 0 = unlimited
    analysis_cooldown: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Any) -> NoiseSettings:
        """Settings from a definition's config; a key that is missing or invalid keeps its
        default (validation refuses invalid ones before a definition can run)."""
        if not isinstance(config, dict):
            return cls()
        noise = config.get("noise") if isinstance(config.get("noise"), dict) else {}
        values: dict[str, Any] = {}
        if config.get("on_unchanged") in ON_UNCHANGED:
            values["on_unchanged"] = config["on_unchanged"]
        durations = {"repeat_interval": config.get("repeat_interval")}
        durations |= {k: noise.get(k) for k in ("flap_window", "analysis_cooldown")}
        for key, raw in durations.items():
            if raw is None:
                continue
            with contextlib.suppress(DurationError):  # invalid: validation reports it
                values[key] = parse_duration(raw)
        for key in ("notify_resolved", "analyze_resolved"):
            if isinstance(noise.get(key), bool):
                values[key] = noise[key]
        for key in ("flap_threshold", "max_notifications_per_minute"):
            raw = noise.get(key)
            if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
                values[key] = raw
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "on_unchanged": self.on_unchanged,
            "repeat_interval": format_duration(self.repeat_interval),
            "notify_resolved": self.notify_resolved,
            "analyze_resolved": self.analyze_resolved,
            "flap_threshold": self.flap_threshold,
            "flap_window": format_duration(self.flap_window),
            "max_notifications_per_minute": self.max_notifications_per_minute,
            "analysis_cooldown": format_duration(self.analysis_cooldown),
        }


def errors(config: dict[str, Any]) -> list[str]:
    """What the JSON Schema cannot check: string durations within a year."""
    problems: list[str] = []
    noise = config.get("noise") if isinstance(config.get("noise"), dict) else {}
    candidates = {"repeat_interval": config.get("repeat_interval")}
    candidates |= {f"noise.{k}": noise.get(k) for k in ("flap_window", "analysis_cooldown")}
    for where, raw in candidates.items():
        if isinstance(raw, str) and _DURATION_RE.match(raw):
            try:
                parse_duration(raw)
            except DurationError as exc:
                problems.append(f"{where}: {exc}")
    return problems
