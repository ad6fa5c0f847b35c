""" "Why was I (not) notified?": the path of an incident's deliveries, decisions and runs.

For a run, an incident or an alert fingerprint, in time order: each delivery (and the dedup
record its run claimed), the change gate, every noise decision with its reason (silence,
flapping, storm, reminder, ...), the run it started, each node's outcome and each channel's
delivery from the notify ledger. ``build_*`` return JSON-ready dicts (the API shows them);
``render`` turns one into the text ``manage.py trace`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from apps.alerts.models import Alert, Incident, WebhookDelivery
from apps.noise.models import NoiseDecision
from apps.notify.models import Delivery
from apps.orchestration.models import PipelineRun, StageExecution

DEFAULT_LIMIT = 200


class TraceNotFound(LookupError):
    """Nothing has this run id, incident id or fingerprint."""


def build_for(target: str, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """A run id, else an incident id, else an alert fingerprint (every incident it was in)."""
    target = target.strip()
    if PipelineRun.objects.filter(run_id=target).exists():
        return [build_run(target)]
    if target.isdigit() and Incident.objects.filter(pk=int(target)).exists():
        return [build_incident(int(target), limit=limit)]
    traces = build_fingerprint(target, limit=limit)
    if not traces:
        raise TraceNotFound(f"no run, incident or alert fingerprint {target!r}")
    return traces


def build_incident(incident_id: int, *, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise TraceNotFound(f"no incident {incident_id}")
    # Only the latest ``limit`` of each kind are read: a storm's incident has thousands.
    all_decisions = NoiseDecision.objects.filter(incident_id=incident_id).order_by("-at", "-id")
    undecided = (
        PipelineRun.objects.filter(incident_id=incident_id)
        .exclude(run_id__in=all_decisions.exclude(run_id="").values("run_id"))
        .order_by("-created_at")
    )
    decisions = list(all_decisions[:limit] if limit else all_decisions)
    runs = set((undecided[:limit] if limit else undecided).values_list("run_id", flat=True))
    events = _events(decisions, runs)
    omitted = 0
    if limit:
        total = all_decisions.count() + undecided.count()
        events = events[-limit:]
        omitted = max(0, total - len(events))
    return {
        "incident": _incident(incident),
        "alerts": _alerts(Alert.objects.filter(incident_id=incident_id)),
        "events": events,
        "events_omitted": omitted,
    }


def build_run(run_id: str) -> dict[str, Any]:
    run = PipelineRun.objects.filter(run_id=run_id).first()
    if run is None:
        raise TraceNotFound(f"no run {run_id}")
    decisions = list(NoiseDecision.objects.filter(run_id=run_id))
    incident = Incident.objects.filter(pk=run.incident_id).first() if run.incident_id else None
    return {
        "incident": _incident(incident) if incident else None,
        "alerts": _alerts(Alert.objects.filter(incident_id=run.incident_id)) if incident else [],
        "events": _events(decisions, {run_id}),
        "events_omitted": 0,
    }


def build_fingerprint(fingerprint: str, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    incident_ids = sorted(
        {
            pk
            for pk in Alert.objects.filter(fingerprint=fingerprint).values_list(
                "incident_id", flat=True
            )
            if pk
        }
        | set(
            NoiseDecision.objects.filter(fingerprint=fingerprint, incident__isnull=False)
            .values_list("incident_id", flat=True)
            .distinct()
        )
    )
    traces = [build_incident(pk, limit=limit) for pk in incident_ids]
    loose = list(NoiseDecision.objects.filter(fingerprint=fingerprint, incident__isnull=True))
    if loose:
        alerts = _alerts(Alert.objects.filter(fingerprint=fingerprint, incident__isnull=True))
        events = _events(loose, set())
        traces.append({"incident": None, "alerts": alerts, "events": events, "events_omitted": 0})
    return traces


# --- pieces -------------------------------------------------------------------------------------


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity,
        "source": incident.source,
        "group_key": incident.group_key,
        "created_at": incident.created_at.isoformat(),
    }


def _alerts(queryset: Any) -> list[dict[str, Any]]:
    return [
        {
            "fingerprint": a["fingerprint"],
            "name": a["name"],
            "status": a["status"],
            "severity": a["severity"],
            "seen_count": a["seen_count"],
            "last_seen_at": a["last_seen_at"].isoformat() if a["last_seen_at"] else None,
        }
        for a in queryset.order_by("received_at", "id").values(
            "fingerprint", "name", "status", "severity", "seen_count", "last_seen_at"
        )[:50]
    ]


def _events(decisions: list[NoiseDecision], run_ids: set[str]) -> list[dict[str, Any]]:
    """Decisions and runs in time order; a run without a decision (started by the API, or
    before noise control) is shown too."""
    run_ids = run_ids | {d.run_id for d in decisions if d.run_id}
    runs = _runs(run_ids)
    decided = {d.run_id for d in decisions if d.run_id}
    events = [_decision(d, runs.get(d.run_id)) for d in decisions]
    events += [
        {"at": run["created_at"], "stage": "run", "kind": None, "run": run}
        for run_id, run in runs.items()
        if run_id not in decided
    ]
    return sorted(events, key=lambda e: (e["at"] or "", e.get("decision_id") or 0))


def _decision(d: NoiseDecision, run: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "at": d.at.isoformat(),
        "stage": d.stage,
        "decision_id": d.pk,
        "kind": d.kind,
        "notify": d.notify,
        "analyze": d.analyze,
        "reuse_analysis": d.reuse_analysis,
        "folded": d.folded,
        "reason": d.reason,
        "repeats": d.repeats,
        "last_at": d.last_at.isoformat() if d.repeats > 1 else None,
        "silence_id": d.silence_id,
        "fingerprints": d.fingerprints,
        "details": d.details,
        "run": run,
    }


def _runs(run_ids: set[str]) -> dict[str, dict[str, Any]]:
    if not run_ids:
        return {}
    rows = list(PipelineRun.objects.filter(run_id__in=run_ids))
    pks = [r.pk for r in rows]
    keys = {
        run_id: (key, created)
        for run_id, key, created in WebhookDelivery.objects.filter(run_id__in=pks).values_list(
            "run__run_id", "dedup_key", "created_at"
        )
    }
    nodes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ex in StageExecution.objects.filter(run_id__in=pks).order_by("id"):
        snapshot = ex.output_snapshot or {}
        nodes[ex.run_id].append(
            {
                "node": ex.node_id,
                "type": ex.node_type,
                "attempt": ex.attempt,
                "status": ex.status,
                "duration_ms": round(ex.duration_ms, 1) if ex.duration_ms is not None else None,
                "skip_reason": snapshot.get("skip_reason") or "",
                "error": ex.error_message,
            }
        )
    sends: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in Delivery.objects.filter(run_id__in=run_ids).order_by("created_at", "id"):
        sends[row.run_id].append(
            {
                "node": row.node_id,
                "channel": row.channel,
                "driver": row.driver,
                "status": row.status,
                "attempts": row.attempts,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "error": row.error,
            }
        )
    found = {}
    for run in rows:
        key = keys.get(run.run_id)
        found[run.run_id] = {
            "run_id": run.run_id,
            "trace_id": run.trace_id,
            "definition": run.definition_name,
            "definition_version": run.definition_version,
            "source": run.source,
            "status": run.status,
            "created_at": run.created_at.isoformat(),
            "duration_ms": run.duration_ms,
            "error": run.error_message or None,
            "delivery": {"dedup_key": key[0], "received_at": key[1].isoformat()} if key else None,
            "nodes": nodes.get(run.pk, []),
            "channels": sends.get(run.run_id, []),
        }
    return found


# --- text ---------------------------------------------------------------------------------------


def render(trace: dict[str, Any]) -> str:
    """The text ``manage.py trace`` prints for one trace."""
    lines: list[str] = []
    incident = trace.get("incident")
    if incident:
        lines.append(
            f"Incident #{incident['id']} {incident['title']!r}: {incident['status']}, "
            f"{incident['severity']}, source {incident['source']}, group {incident['group_key']}"
        )
    for a in trace.get("alerts") or []:
        lines.append(
            f"  alert {a['fingerprint']} ({a['name']}): {a['status']}, {a['severity']}, "
            f"seen {a['seen_count']} times, last {_when(a['last_seen_at'])}"
        )
    if trace.get("events_omitted"):
        lines.append(f"  ... {trace['events_omitted']} earlier events (--limit 0 shows all)")
    several = len(trace.get("alerts") or []) > 1
    for event in trace.get("events") or []:
        lines.extend(_render_event(event, several))
    return "\n".join(lines)


def _when(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-" * 19


def _render_event(event: dict[str, Any], several: bool = False) -> list[str]:
    pad = " " * 21
    run = event.get("run")
    lines: list[str] = []
    if event["stage"] == "run":
        lines.append(f"{_when(event['at'])}  run        {_run_line(run)} (no noise decision)")
        return lines + _render_run(run, pad)
    if event["stage"] == "gate":
        repeats = event["repeats"]
        times = f" ×{repeats} until {_when(event['last_at'])}" if repeats > 1 else ""
        if several:  # which of the incident's alerts were re-sent
            shown = event["fingerprints"][:3]
            more = "…" if len(event["fingerprints"]) > 3 else ""
            times += f" [{', '.join(shown)}{more}]"
        lines.append(
            f"{_when(event['at'])}  gate       {event['kind']}{times}: no run: {event['reason']}"
        )
        return lines
    verdict = "notify" if event["notify"] else "no notification"
    extras = []
    if event["analyze"]:
        extras.append("analyse")
    if event["reuse_analysis"]:
        extras.append("reuse the last analysis")
    if event["folded"]:
        extras.append(f"sums up {event['folded']} folded")
    verdict += "".join(f", {x}" for x in extras)
    if event["stage"] == "ingest":
        delivery = (run or {}).get("delivery")
        received = _when(delivery["received_at"]) if delivery else _when(event["at"])
        lines.append(f"{received}  delivery   from {(run or {}).get('source', '?')}")
        if delivery:
            key = delivery["dedup_key"][:12]
            lines.append(f"{pad}dedup      first delivery with key {key}… in its window")
        else:
            lines.append(f"{pad}dedup      no dedup key (content dedup off, or not a webhook)")
        lines.append(f"{pad}gate       passed: something may have changed; the run decides")
        lines.append(
            f"{_when(event['at'])}  decision   {event['kind']} → {verdict}: {event['reason']}"
        )
    else:
        lines.append(
            f"{_when(event['at'])}  sweep      {event['kind']} → {verdict}: {event['reason']}"
        )
    if event.get("details", {}).get("analysis"):
        lines.append(f"{pad}           {event['details']['analysis']}")
    if run:
        lines.append(f"{pad}run        {_run_line(run)}")
        lines.extend(_render_run(run, pad))
    return lines


def _run_line(run: dict[str, Any]) -> str:
    took = f" in {run['duration_ms']:.0f} ms" if run.get("duration_ms") else ""
    error = f": {run['error']}" if run.get("error") else ""
    return (
        f"{run['run_id']} {run['definition']} v{run['definition_version']} "
        f"({run['source']}): {run['status']}{took}{error}"
    )


def _render_run(run: dict[str, Any], pad: str) -> list[str]:
    lines = []
    for node in run["nodes"]:
        took = f" {node['duration_ms']:.0f} ms" if node["duration_ms"] is not None else ""
        why = node["skip_reason"] or node["error"]
        attempt = f" (attempt {node['attempt']})" if node["attempt"] > 1 else ""
        lines.append(
            f"{pad}  {node['node']:<12} {node['status']}{took}{attempt}"
            + (f": {why}" if why else "")
        )
        for send in (c for c in run["channels"] if c["node"] == node["node"]):
            when = f" at {_when(send['sent_at'])}" if send["sent_at"] else ""
            error = f": {send['error']}" if send["error"] else ""
            lines.append(
                f"{pad}    → {send['channel']} ({send['driver']}): {send['status']}{when}{error}"
            )
    return lines


__all__ = ["TraceNotFound", "build_for", "build_incident", "build_run", "render"]
