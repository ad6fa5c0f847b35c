"""The local provider: the rule engine, no network, always available (and the AI fallback)."""

from __future__ import annotations

import socket
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from apps.intelligence.context import AnalysisContext
from apps.intelligence.providers.base import BaseProvider, LiveOptions, check_thresholds
from apps.intelligence.recommendations import Analysis
from apps.intelligence.rules import RuleEngine, analyse
from apps.intelligence.system import sort_processes, top_processes, with_live_system

# Which process ranking helps with which cause.
_PROCESS_SORT = {"memory": "memory_percent", "cpu": "cpu_percent", "process": "memory_percent"}


class LocalOptions(LiveOptions):
    thresholds: Annotated[dict[str, Any] | None, AfterValidator(check_thresholds)] = Field(
        None, description="Per-metric [warning, critical] percentages for cpu, memory, swap, disk"
    )
    top_n: int | None = Field(None, gt=0, description="How many top processes to list")
    process_sample_seconds: float | None = Field(
        None, ge=0, description="CPU sampling interval for top processes"
    )


class LocalProvider(BaseProvider):
    """Rule-based analysis of check results, system metrics and the incident's alerts."""

    name = "local"
    description = "Rule engine over checks, system metrics and alerts (no network)"
    Options = LocalOptions

    def analyze(self, incident: dict[str, Any] | None, context: AnalysisContext) -> Analysis:
        context, live = with_live_system(context, incident, self.config)
        thresholds = {k: tuple(v) for k, v in (self.config.get("thresholds") or {}).items()}
        engine = analyse(context, incident, thresholds)
        processes = self._top_processes(engine, context, live)
        recs = engine.recommendations(incident, processes)
        return Analysis(provider=self.name, recommendations=recs)

    def _top_processes(
        self, engine: RuleEngine, context: AnalysisContext, live: bool
    ) -> dict[str, list[dict[str, Any]]]:
        limit = int(self.config.get("top_n", 5))
        wanted = [c for c in _PROCESS_SORT if c in engine.findings and engine.findings[c].measured]
        measured = context.system.get("processes")
        result: dict[str, list[dict[str, Any]]] = {}
        for cause in wanted:
            sort_by = _PROCESS_SORT[cause]
            if isinstance(measured, list) and measured:
                result[cause] = sort_processes(measured, sort_by, limit)
            elif live or _measured_here(context):
                # Only this host's processes explain this host's measurements.
                sample = float(self.config.get("process_sample_seconds", 0.2))
                result[cause] = top_processes(sort_by, limit, sample)
        return result


def _measured_here(context: AnalysisContext) -> bool:
    """Whether the context's measurements were taken on this host (unnamed: in-process)."""
    hosts = set(context.hosts)
    for check in context.checks:
        host = check.get("hostname") or check.get("host")
        if host:
            hosts.add(str(host))
    return not context.is_empty and (not hosts or hosts == {socket.gethostname()})
