"""The local rule engine: measurements and incident text → likely causes → recommendations.

Evidence comes from three places: check results (a warning/critical status of a checker maps
to a cause), system metrics compared with thresholds, and the incident's alert names, titles,
descriptions and labels matched against per-cause vocabularies. Evidence for the same cause is
merged into one finding whose priority is the strongest evidence's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apps.intelligence.context import AnalysisContext, disk_readings, percent_of
from apps.intelligence.playbook import (
    ACTIONS,
    CAUSES,
    GENERIC_INCIDENT_ACTIONS,
    TITLES,
    UNKNOWN_CHECK_ACTIONS,
)
from apps.intelligence.recommendations import Recommendation, priority_rank

DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    # cause: (warning %, critical %)
    "cpu": (80.0, 95.0),
    "memory": (85.0, 95.0),
    "swap": (50.0, 80.0),
    "disk": (85.0, 95.0),
}

_CHECKER_CAUSES = {
    "cpu": "cpu",
    "load": "cpu",
    "memory": "memory",
    "swap": "memory",
    "disk": "disk",
    "inode": "disk",
    "fd": "process",
    "file": "process",
    "process": "process",
    "network": "network",
    "ping": "network",
    "dns": "network",
    "http": "network",
}

_KEYWORDS: dict[str, frozenset[str]] = {
    "memory": frozenset(
        ["memory", "mem", "oom", "oomkilled", "heap", "swap", "rss", "ram", "gc", "outofmemory"]
    ),
    "disk": frozenset(
        [
            "disk",
            "disks",
            "filesystem",
            "fs",
            "volume",
            "inode",
            "inodes",
            "storage",
            "space",
            "pvc",
            "iops",
            "iowait",
            "mountpoint",
        ]
    ),
    "cpu": frozenset(["cpu", "load", "loadavg", "throttling", "throttled", "saturation", "steal"]),
    "process": frozenset(
        [
            "process",
            "processes",
            "crash",
            "crashloop",
            "crashlooping",
            "restart",
            "restarts",
            "restarting",
            "down",
            "exited",
            "dead",
            "pod",
            "container",
            "service",
            "unhealthy",
            "fd",
            "fds",
            "descriptors",
            "zombie",
        ]
    ),
    "network": frozenset(
        [
            "network",
            "latency",
            "unreachable",
            "connection",
            "connections",
            "dns",
            "packet",
            "packets",
            "ping",
            "probe",
            "timeout",
            "timeouts",
            "tcp",
            "bandwidth",
            "interface",
            "nic",
            "blackbox",
            "ssl",
            "tls",
            "certificate",
        ]
    ),
}
# Label names that say which resource an alert is about.
_LABEL_CAUSES = {"mountpoint": "disk", "device": "disk", "fstype": "disk", "interface": "network"}

# Labels that say where an alert fired, quoted in the evidence.
_WHERE_LABELS = ("instance", "mountpoint", "device", "interface", "namespace", "pod", "container")

_SEVERITY_PRIORITY = {
    "critical": "critical",
    "fatal": "critical",
    "page": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "warning": "medium",
    "warn": "medium",
    "medium": "medium",
    "minor": "medium",
}


def severity_priority(severity: Any) -> str:
    """Map an incident or alert severity to a recommendation priority."""
    return _SEVERITY_PRIORITY.get(str(severity or "").lower(), "low")


def tokens(text: str) -> set[str]:
    """Lower-case words of ``text``, splitting CamelCase: 'KubePodOOMKilled' → kube, pod, oom."""
    # Keep the unsplit words too, so 'OOMKilled' and 'CrashLoopBackOff' match as wholes.
    words = {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    words |= {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}
    return words


@dataclass
class Finding:
    """Everything that points at one cause."""

    cause: str
    priority: str = "low"
    measured: bool = False
    evidence: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    runbooks: list[str] = field(default_factory=list)

    def add(self, priority: str, evidence: str, *, measured: bool = False) -> None:
        if priority_rank(priority) < priority_rank(self.priority):
            self.priority = priority
        self.measured = self.measured or measured
        if evidence not in self.evidence:
            self.evidence.append(evidence)


@dataclass
class RuleEngine:
    """Turns a context (and optionally an incident) into recommendations."""

    thresholds: dict[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )
    findings: dict[str, Finding] = field(default_factory=dict)
    unknown_checks: list[dict[str, Any]] = field(default_factory=list)

    def finding(self, cause: str) -> Finding:
        return self.findings.setdefault(cause, Finding(cause=cause))

    # -- evidence ---------------------------------------------------------------------------

    def read_checks(self, checks: list[dict[str, Any]]) -> None:
        for check in checks:
            name = str(check.get("checker") or "unknown")
            status = str(check.get("status") or "").lower()
            if status == "unknown":
                self.unknown_checks.append(check)
                continue
            if status not in ("warning", "critical"):
                continue
            cause = checker_cause(name) or f"check:{name}"
            finding = self.finding(cause)
            priority = "critical" if status == "critical" else "high"
            message = check.get("message") or status
            finding.add(priority, f"check {name} is {status}: {message}", measured=True)
            metrics = check.get("metrics")
            if isinstance(metrics, dict) and metrics:
                finding.metrics[name] = metrics

    def read_system(self, system: dict[str, Any]) -> None:
        for cause in ("cpu", "memory", "swap"):
            percent = percent_of(system.get(cause))
            if percent is not None:
                self._threshold("memory" if cause == "swap" else cause, cause, percent, cause)
        for path, percent in disk_readings(system.get("disk")):
            self._threshold("disk", "disk", percent, f"disk {path}")

    def _threshold(self, cause: str, kind: str, percent: float, label: str) -> None:
        warning, critical = self.thresholds.get(kind, DEFAULT_THRESHOLDS[kind])
        if percent >= critical:
            priority, level = "critical", f"critical threshold {critical:g}%"
        elif percent >= warning:
            priority, level = "high", f"warning threshold {warning:g}%"
        else:
            return
        finding = self.finding(cause)
        finding.add(priority, f"{label} at {percent:.1f}% (over {level})", measured=True)
        finding.metrics[label.replace(" ", ":")] = percent

    def read_incident(self, incident: dict[str, Any]) -> None:
        incident_priority = severity_priority(incident.get("severity"))
        if str(incident.get("status", "")).lower() == "resolved":
            incident_priority = "low"
        alerts = [a for a in incident.get("alerts") or [] if isinstance(a, dict)]
        text = f"{incident.get('title', '')} {incident.get('description', '')}"
        for cause in _causes_in(tokens(text)):
            self.finding(cause).add(
                incident_priority, f"incident '{incident.get('title', '')}' mentions {cause}"
            )
        for alert in alerts:
            self.read_alert(alert, incident_priority)

    def read_alert(self, alert: dict[str, Any], default_priority: str) -> None:
        name = str(alert.get("name") or "")
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        severity = alert.get("severity") or labels.get("severity")
        priority = severity_priority(severity) if severity else default_priority
        if str(alert.get("status", "")).lower() == "resolved":
            priority = "low"
        words = tokens(f"{name} {labels.get('alertname', '')} {alert.get('description', '')}")
        # Only prose annotations: URLs (runbook_url, dashboards) would match words like 'fs'.
        prose = (annotations.get(k) for k in ("summary", "description", "message"))
        words |= tokens(" ".join(v for v in prose if isinstance(v, str)))
        causes = set(_causes_in(words))
        causes |= {c for label, c in _LABEL_CAUSES.items() if label in labels}
        runbook = annotations.get("runbook_url") or annotations.get("runbook")
        place = [f"{k}={labels[k]}" for k in _WHERE_LABELS if labels.get(k)]
        where = f" on {', '.join(place)}" if place else ""
        for cause in sorted(causes, key=CAUSES.index):
            finding = self.finding(cause)
            finding.add(
                priority, f"alert {name or '(unnamed)'} ({severity or 'no severity'}){where}"
            )
            if name and name not in finding.alerts:
                finding.alerts.append(name)
            if runbook and runbook not in finding.runbooks:
                finding.runbooks.append(str(runbook))

    # -- recommendations --------------------------------------------------------------------

    def recommendations(
        self, incident: dict[str, Any] | None, top_processes: dict[str, list[dict[str, Any]]]
    ) -> list[Recommendation]:
        recs = [self._recommend(f, top_processes.get(f.cause)) for f in self.findings.values()]
        for check in self.unknown_checks:
            name = str(check.get("checker") or "unknown")
            recs.append(
                Recommendation(
                    type="check",
                    priority="low",
                    title=f"Health check {name} could not run",
                    description=str(check.get("message") or "The check returned unknown."),
                    details={"checker": name, "metrics": check.get("metrics") or {}},
                    actions=list(UNKNOWN_CHECK_ACTIONS),
                )
            )
        if incident and not any(c in self.findings for c in CAUSES):
            recs.append(_generic_incident(incident))
        recs.sort(key=lambda r: priority_rank(r.priority))
        return recs

    def _recommend(
        self, finding: Finding, processes: list[dict[str, Any]] | None
    ) -> Recommendation:
        cause = finding.cause
        if cause in TITLES:
            title = TITLES[cause][0 if finding.measured else 1]
            actions = list(ACTIONS[cause])
            rec_type = cause
        else:
            checker = cause.split(":", 1)[1]
            title, actions, rec_type = f"Health check {checker} failing", [], "check"
            actions.append(f"Run the {checker} check by hand and follow its message.")
        actions += [f"Follow the runbook: {url}" for url in finding.runbooks]
        details: dict[str, Any] = {
            "cause": cause,
            "evidence": finding.evidence,
            "measured": finding.measured,
        }
        if finding.metrics:
            details["metrics"] = finding.metrics
        if finding.alerts:
            details["alerts"] = finding.alerts
        if processes:
            details["top_processes"] = processes
        return Recommendation(
            type=rec_type,
            priority=finding.priority,
            title=title,
            description=_sentence("; ".join(finding.evidence)),
            details=details,
            actions=actions,
        )


def checker_cause(name: str) -> str | None:
    """The cause a checker measures: exact name first, then a known prefix (load_average)."""
    name = name.lower()
    if name in _CHECKER_CAUSES:
        return _CHECKER_CAUSES[name]
    for prefix, cause in _CHECKER_CAUSES.items():
        if name.startswith(prefix):
            return cause
    return None


def _sentence(text: str) -> str:
    # str.capitalize() would lower-case alert names and paths.
    return text[:1].upper() + text[1:] + "."


def _causes_in(words: set[str]) -> list[str]:
    return [cause for cause in CAUSES if words & _KEYWORDS[cause]]


def _generic_incident(incident: dict[str, Any]) -> Recommendation:
    alerts = [a for a in incident.get("alerts") or [] if isinstance(a, dict)]
    names = sorted({str(a.get("name")) for a in alerts if a.get("name")})
    actions = list(GENERIC_INCIDENT_ACTIONS)
    for alert in alerts:
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        runbook = annotations.get("runbook_url") or annotations.get("runbook")
        if runbook:
            actions.append(f"Follow the runbook: {runbook}")
    title = str(incident.get("title") or "incident")
    return Recommendation(
        type="incident",
        priority=severity_priority(incident.get("severity")),
        title=f"Investigate: {title}",
        description=str(incident.get("description") or "No known cause matched this incident."),
        details={"incident_id": incident.get("id"), "alerts": names, "cause": "unknown"},
        actions=actions,
    )


def analyse(
    context: AnalysisContext,
    incident: dict[str, Any] | None,
    thresholds: dict[str, tuple[float, float]] | None = None,
) -> RuleEngine:
    """Run every rule over the context and incident; the engine holds the findings."""
    engine = RuleEngine(thresholds={**DEFAULT_THRESHOLDS, **(thresholds or {})})
    engine.read_checks(context.checks)
    engine.read_system(context.system)
    if incident:
        engine.read_incident(incident)
    return engine
