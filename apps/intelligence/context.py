"""What a provider analyses besides the incident: the run's earlier outputs.

``AnalysisContext.from_outputs`` reads every earlier node output of the run and keeps what
analysis can use: check results (a ``checks`` list from context nodes), system metrics (a
``system`` dict), facts from ingest nodes (severity, alert fingerprint) and the tokens earlier
intelligence nodes already spent, so the run's token budget holds across nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Ingest outputs can be large; only these scalar facts help analysis.
_INGEST_KEYS = (
    "severity",
    "alert_fingerprint",
    "alert_name",
    "alert_status",
    "status",
    "source",
    "title",
    "incident_id",
)
_CHECK_KEYS = ("checker", "status", "message", "metrics", "hostname", "host")


@dataclass
class AnalysisContext:
    """Earlier outputs of the run, reduced to what providers analyse."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    system: dict[str, Any] = field(default_factory=dict)
    signals: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    tokens_used: int = 0
    trace_id: str = ""
    run_id: str = ""

    @property
    def is_empty(self) -> bool:
        """No measurements at all: a system scan has to gather its own."""
        return not self.checks and not self.system

    @classmethod
    def from_outputs(
        cls, previous_outputs: dict[str, Any], *, trace_id: str = "", run_id: str = ""
    ) -> AnalysisContext:
        ctx = cls(trace_id=trace_id, run_id=run_id)
        for node_id, output in previous_outputs.items():
            if not isinstance(output, dict):
                continue
            checks = output.get("checks")
            if isinstance(checks, list):
                ctx.checks.extend(_check(c, node_id) for c in checks if isinstance(c, dict))
            system = output.get("system")
            if isinstance(system, dict):
                # Later context nodes measured more recently: their readings win.
                ctx.system.update(system)
            if isinstance(checks, list) or isinstance(system, dict):
                host = output.get("hostname") or output.get("host")
                if isinstance(host, str) and host and host not in ctx.hosts:
                    ctx.hosts.append(host)
            if "alert_fingerprint" in output or "severity" in output:
                signal = {k: output[k] for k in _INGEST_KEYS if _is_scalar(output.get(k))}
                if signal:
                    ctx.signals.append({"node": node_id, **signal})
            if "recommendations" in output and "provider" in output:
                ctx.tokens_used += _int(output.get("tokens_used"))
        return ctx

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "system": self.system,
            "signals": self.signals,
            "hosts": self.hosts,
            "tokens_used": self.tokens_used,
        }


def _check(check: dict[str, Any], node_id: str) -> dict[str, Any]:
    kept = {k: check[k] for k in _CHECK_KEYS if k in check}
    kept.setdefault("checker", check.get("name", "unknown"))
    kept["node"] = node_id
    return kept


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def percent_of(value: Any) -> float | None:
    """A percentage from a number or a ``{"percent": ...}`` reading."""
    if isinstance(value, dict):
        value = value.get("percent")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def disk_readings(disk: Any) -> list[tuple[str, float]]:
    """Disk usage as (path, percent) from the shapes context nodes produce."""
    if isinstance(disk, dict) and "percent" in disk:
        percent = percent_of(disk)
        return [(str(disk.get("path", "/")), percent)] if percent is not None else []
    items: list[tuple[str, Any]] = []
    if isinstance(disk, dict):
        items = list(disk.items())
    elif isinstance(disk, list):
        items = [(d.get("path", d.get("mountpoint", "?")), d) for d in disk if isinstance(d, dict)]
    readings = [(str(path), percent_of(value)) for path, value in items]
    return [(path, p) for path, p in readings if p is not None]


def load_incident(incident_id: int | None) -> dict[str, Any] | None:
    """The incident summary from the alerts app, or None when there is no such incident."""
    if incident_id is None:
        return None
    # Imported here: the alerts app is optional for system scans and loads after this one.
    from apps.alerts.services import incident_summary

    return incident_summary(incident_id)
