"""Noise decisions for pipeline runs: the ingest node's, and what later nodes ask.

``decide_for_ingest`` runs inside the ingest node's transaction, right after the alerts are
stored: the alert rows it changed are still locked, so of two runs ingesting the same
delivery exactly one sees the change (the other sees nothing changed), and the incident's
``NoiseState`` is locked for the decision itself. A retried ingest finds its run's decision
and returns it instead of deciding again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apps.alerts.models import Alert
from apps.noise import clock, silences
from apps.noise import decide as rules
from apps.noise.config import NoiseSettings
from apps.noise.models import NoiseDecision, NoiseState
from project import rows

if TYPE_CHECKING:
    from apps.alerts.services import ProcessingResult, TouchedAlert
    from apps.orchestration.nodes.base import NodeContext

logger = logging.getLogger(__name__)

# What of an analysis is worth reusing (the exchange with the model is not).
_ANALYSIS_KEYS = (
    "provider",
    "provider_used",
    "model",
    "recommendations",
    "count",
    "summary",
    "description",
    "fallback_used",
)


@dataclass(frozen=True)
class RunInfo:
    """The run a decision is for, and its definition's noise settings."""

    run_id: str = ""
    trace_id: str = ""
    stored: bool = False  # the run has a row (not a node called on its own, as tests do)
    definition_id: int | None = None
    definition_name: str = ""
    settings: NoiseSettings = NoiseSettings()
    # The ingest node's first start ever for this run: no decision of it can exist yet.
    first_start: bool = False

    @classmethod
    def of(cls, ctx: NodeContext) -> RunInfo:
        """For a node's context: from what the engine loaded with the run when it did,
        else from the run's row."""
        if ctx.run_config is None:
            return cls.load(ctx.run_id, ctx.trace_id)
        return cls(
            run_id=ctx.run_id,
            trace_id=ctx.trace_id,
            stored=True,
            definition_id=ctx.definition_id,
            definition_name=ctx.definition_name,
            settings=NoiseSettings.from_config(ctx.run_config),
            # A second ingest node of the run would find the first one's decision.
            first_start=ctx.attempt == 1
            and ctx.starts == 1
            and sum(n.get("type") == "ingest" for n in ctx.run_config.get("nodes", [])) == 1,
        )

    @classmethod
    def load(cls, run_id: str, trace_id: str = "") -> RunInfo:
        """From the run's row (its frozen config); defaults for a run that is not stored."""
        from apps.orchestration.models import PipelineRun

        row = (
            PipelineRun.objects.filter(run_id=run_id)
            .values("config", "definition_id", "definition_name")
            .first()
        )
        if row is None:
            return cls(run_id=run_id, trace_id=trace_id)
        return cls(
            run_id=run_id,
            trace_id=trace_id,
            stored=True,
            definition_id=row["definition_id"],
            definition_name=row["definition_name"],
            settings=NoiseSettings.from_config(row["config"]),
        )


@dataclass(frozen=True)
class IngestDecision:
    incident_id: int | None
    output: dict[str, Any]  # what the ingest node puts under "noise"


def decision_output(row: NoiseDecision) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "notify": row.notify,
        "analyze": row.analyze,
        "reuse_analysis": row.reuse_analysis,
        "reason": row.reason,
        "folded": row.folded,
        "silence_id": row.silence_id,
        "decision_id": row.pk,
        "incident_id": row.incident_id,
    }


def decide_for_ingest(
    run: RunInfo, processed: ProcessingResult, *, now: datetime | None = None
) -> IngestDecision | None:
    """Decide whether this run notifies; call inside the ingest transaction."""
    if not processed.alerts:
        return None
    if run.stored and not run.first_start:
        done = NoiseDecision.objects.filter(run_id=run.run_id, stage="ingest").first()
        if done is not None:
            return IngestDecision(done.incident_id, decision_output(done))
    now = now or clock.now()
    changes = {t.alert_id: _change(t) for t in processed.alerts}
    incident_id = _focus(processed, changes)
    if incident_id is None:
        decision = rules.Decision(
            rules.UNCHANGED, reason="no incident: the alerts were resolved when first seen"
        )
        row = _log(decision, run, None, list(changes.values()), processed.source, now)
        return IngestDecision(None, decision_output(row))
    mine = [t for t in processed.alerts if t.incident_id == incident_id]
    changes = _with_silences(mine, changes, now)
    new = incident_id in processed.created_incident_ids
    # The incident's state row is locked; the incident itself the ingest holds locked, and
    # its status and severity come with the ingest's result.
    state_row = NoiseState(incident_id=incident_id) if new else _locked_state(incident_id)
    incident = processed.incidents[incident_id]
    state = snapshot(state_row)
    decision = rules.on_delivery(
        state,
        [changes[t.alert_id] for t in mine],
        rules.IncidentView(incident.status, incident.severity, _opened(processed, incident_id)),
        run.settings,
        now,
    )
    # An incident this ingest created has no state row yet, and none can appear before
    # this transaction commits (its incident is not visible to anyone else): INSERT it.
    store(state_row, state, run, new=new)
    row = _log(
        decision, run, incident_id, [changes[t.alert_id] for t in mine], processed.source, now
    )
    return IngestDecision(incident_id, decision_output(row))


def _change(touched: TouchedAlert) -> rules.AlertChange:
    return rules.AlertChange(
        fingerprint=touched.fingerprint,
        name=touched.name,
        status=touched.status,
        severity=touched.severity,
        old_status=touched.old_status,
        old_severity=touched.old_severity,
        event=touched.event,
    )


def _focus(processed: ProcessingResult, changes: dict[int, rules.AlertChange]) -> int | None:
    """The run's incident: the ingest's primary one, unless only another incident of the
    delivery changed materially (then the most severe such change's): notify on news."""
    primary = processed.incident_id
    opened = {*processed.created_incident_ids, *processed.reopened_incident_ids}
    material = [
        t
        for t in processed.alerts
        if t.incident_id and (changes[t.alert_id].material or t.incident_id in opened)
    ]
    if not material or any(t.incident_id == primary for t in material):
        return primary
    return max(material, key=lambda t: rules.severity_rank(t.severity)).incident_id


def _opened(processed: ProcessingResult, incident_id: int) -> str:
    if incident_id in processed.created_incident_ids:
        return "created"
    return "reopened" if incident_id in processed.reopened_incident_ids else ""


def _with_silences(
    mine: list[TouchedAlert], changes: dict[int, rules.AlertChange], now: datetime
) -> dict[int, rules.AlertChange]:
    active = silences.active(now)
    if not active:
        return changes
    rows = Alert.objects.filter(pk__in=[t.alert_id for t in mine]).values(
        "pk", "source", "severity", "name", "labels"
    )
    held = {row["pk"]: silences.holding(silences.subject(row), active) for row in rows}
    return {
        pk: rules.AlertChange(**{**change.__dict__, "silenced_by": held.get(pk)})
        for pk, change in changes.items()
    }


# --- the NoiseState row ------------------------------------------------------------------------


def _locked_state(incident_id: int) -> NoiseState:
    """The incident's state row, locked; created on first use."""
    row = rows.get(NoiseState, lock=True, incident_id=incident_id)
    if row is not None:
        return row
    # INSERT ... ON CONFLICT DO NOTHING: a concurrent creator's row stands and we lock it;
    # no savepoint and no IntegrityError to catch.
    conflict = f"({rows.column(NoiseState, 'incident')})"
    rows.insert(NoiseState, {"incident_id": incident_id}, conflict=conflict)
    row = rows.get(NoiseState, lock=True, incident_id=incident_id)
    if row is None:  # the incident was deleted meanwhile (cascade)
        raise NoiseState.DoesNotExist(f"incident {incident_id} has no noise state")
    return row


_STATE_FIELDS = (
    "told",
    "incident_status",
    "last_notified_at",
    "last_notified_kind",
    "next_reminder_at",
    "recent_notifications",
    "folded",
    "digest_due_at",
    "flap_changes",
    "flapping_since",
    "flap_quiet_until",
    "analysis_at",
)


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def snapshot(row: NoiseState) -> rules.State:
    raw_flaps = row.flap_changes if isinstance(row.flap_changes, dict) else {}
    return rules.State(
        told=row.told,
        incident_status=row.incident_status,
        last_notified_at=row.last_notified_at,
        last_notified_kind=row.last_notified_kind,
        next_reminder_at=row.next_reminder_at,
        recent=[t for t in map(_parse, row.recent_notifications or []) if t],
        folded=row.folded,
        digest_due_at=row.digest_due_at,
        flap_changes={
            fp: [t for t in map(_parse, times) if t]
            for fp, times in raw_flaps.items()
            if isinstance(times, list)
        },
        flapping_since=row.flapping_since,
        flap_quiet_until=row.flap_quiet_until,
        analysis_at=row.analysis_at,
    )


def store(
    row: NoiseState, state: rules.State, run: RunInfo | None = None, *, new: bool = False
) -> None:
    """Write ``state`` into the row (``new``: INSERT it, it does not exist yet)."""
    row.told = state.told
    row.incident_status = state.incident_status
    row.last_notified_at = state.last_notified_at
    row.last_notified_kind = state.last_notified_kind
    row.next_reminder_at = state.next_reminder_at
    row.recent_notifications = [t.isoformat() for t in state.recent]
    row.folded = state.folded
    row.digest_due_at = state.digest_due_at
    row.flap_changes = {fp: [t.isoformat() for t in ts] for fp, ts in state.flap_changes.items()}
    row.flapping_since = state.flapping_since
    row.flap_quiet_until = state.flap_quiet_until
    row.analysis_at = state.analysis_at
    fields = _STATE_FIELDS
    if run is not None and run.definition_name:
        # Reminders and the other sweeps run the definition that last handled the incident.
        row.definition_id, row.definition_name = run.definition_id, run.definition_name
        fields = (*fields, "definition_id", "definition_name")
    if new:
        rows.insert(NoiseState, {n: getattr(row, n) for n in ("incident_id", *fields)})
    else:
        rows.save(row, fields)


def _log(
    decision: rules.Decision,
    run: RunInfo,
    incident_id: int | None,
    changes: list[rules.AlertChange],
    source: str,
    now: datetime,
) -> NoiseDecision:
    material = [c for c in changes if c.material] or changes
    return rows.create(
        NoiseDecision,
        {
            "at": now,
            "last_at": now,
            "stage": NoiseDecision.Stage.INGEST.value,
            **decision.to_dict(),  # kind, notify, analyze, reason, ...
            "incident_id": incident_id,
            "source": source,
            "fingerprint": material[0].fingerprint if material else "",
            "fingerprints": sorted({c.fingerprint for c in changes}),
            "run_id": run.run_id if run.stored else "",
            "trace_id": run.trace_id,
            "definition_name": run.definition_name,
            "details": {**decision.details, "changes": [c.describe() for c in material[:20]]},
        },
    )


# --- what later nodes ask ----------------------------------------------------------------------


def record_analysis(incident_id: int | None, run_id: str, output: dict[str, Any]) -> None:
    """Keep a fresh analysis so later notifications inside the cooldown reuse it."""
    if incident_id is None:
        return
    kept = {k: output[k] for k in _ANALYSIS_KEYS if k in output}
    rows.update(NoiseState, incident_id, {"analysis": kept, "analysis_run_id": run_id})


def reusable_analysis(incident_id: int | None) -> tuple[dict[str, Any], str] | None:
    """The incident's last analysis and the run that made it, or None."""
    if incident_id is None:
        return None
    row = NoiseState.objects.filter(pk=incident_id).values("analysis", "analysis_run_id").first()
    if not row or not row["analysis"]:
        return None
    return row["analysis"], row["analysis_run_id"]


def told_channels(incident_id: int | None) -> set[str]:
    """Channels that were sent a message about the incident (the notify ledger)."""
    if incident_id is None:
        return set()
    from apps.notify.models import Delivery, DeliveryStatus
    from apps.orchestration.models import PipelineRun

    runs = PipelineRun.objects.filter(incident_id=incident_id).values("run_id")
    return set(
        Delivery.objects.filter(run_id__in=runs, status=DeliveryStatus.SENT).values_list(
            "channel", flat=True
        )
    )
