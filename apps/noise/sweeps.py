"""Periodic noise work: reminders, storm digests, the end of silences and of flapping.

Beat runs these every ``NOISE_SWEEP_INTERVAL_SECONDS`` (``tasks.py``). Each due incident is
handled in its own transaction holding its ``NoiseState`` row (``skip_locked``: another
sweeper handles a locked one), and every decision claims a unique ``slot`` first
(``reminder:<incident>:<due time>``), so a double firing of beat starts one run. A decision
that notifies starts a run of the definition that last handled the incident, through the
normal engine, with a payload naming the decision: its ingest node carries the decision
instead of ingesting (``periodic_decision``), and the later nodes act on it as on any other.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.alerts.models import Alert, Incident
from apps.noise import clock, periodic, silences
from apps.noise import decide as rules
from apps.noise.config import NoiseSettings
from apps.noise.models import GateMemory, NoiseDecision, NoiseState, Silence
from apps.noise.services import decision_output, snapshot, store

logger = logging.getLogger(__name__)

PAYLOAD_KEY = "noise_event"
RUN_SOURCE = "noise"
BATCH = 200  # incidents per sweep; the rest wait for the next one

Decide = Callable[
    [rules.State, rules.IncidentView, "int | None", NoiseSettings, datetime],
    "rules.Decision | None",
]


# --- the sweeps ---------------------------------------------------------------------------------


def send_reminders(now: datetime | None = None) -> int:
    """Due reminders and storm digests; returns how many runs were started."""
    now = now or clock.now()
    due = NoiseState.objects.filter(Q(next_reminder_at__lte=now) | Q(digest_due_at__lte=now))
    started = 0
    for pk in due.order_by("pk").values_list("pk", flat=True)[:BATCH]:
        started += _fire(pk, now, "digest", periodic.on_digest, lambda s: s.digest_due_at)
        started += _fire(pk, now, "reminder", periodic.on_reminder, lambda s: s.next_reminder_at)
    return started


def end_flapping(now: datetime | None = None) -> int:
    """Incidents stable for their flap window: flapping ends with one message."""
    now = now or clock.now()
    due = NoiseState.objects.filter(flapping_since__isnull=False, flap_quiet_until__lte=now)
    started = 0
    for pk in due.order_by("pk").values_list("pk", flat=True)[:BATCH]:
        started += _fire(pk, now, "flap-end", periodic.on_flap_end, lambda s: s.flapping_since)
    return started


def end_silences(now: datetime | None = None) -> int:
    """Silences that ended: each critical incident they matched that is still firing is told
    once ("still firing after maintenance")."""
    now = now or clock.now()
    started = 0
    for silence in Silence.objects.filter(ends_at__lte=now, end_handled_at__isnull=True):
        try:
            matchers = silence.parsed() if silence.was_in_force else []
        except ValueError:
            matchers = []
        for incident_id in _critical_incidents_matching(matchers) if matchers else []:

            def decide(
                state: rules.State,
                incident: rules.IncidentView,
                held: int | None,
                settings: NoiseSettings,
                moment: datetime,
                s: Silence = silence,
            ) -> rules.Decision | None:
                return periodic.on_silence_end(
                    state, incident, s.pk, s.ends_at, held, settings, moment
                )

            started += _fire(incident_id, now, f"silence-end:{silence.pk}", decide, lambda s: None)
        Silence.objects.filter(pk=silence.pk).update(end_handled_at=now)
    return started


def prune(now: datetime | None = None) -> int:
    """Drop decisions and gate memory older than ``NOISE_RETENTION_DAYS``."""
    cutoff = (now or clock.now()) - timedelta(days=django_settings.NOISE_RETENTION_DAYS)
    decisions, _ = NoiseDecision.objects.filter(last_at__lt=cutoff).delete()
    memory, _ = GateMemory.objects.filter(updated_at__lt=cutoff).delete()
    return decisions + memory


# --- one incident -------------------------------------------------------------------------------


def _fire(
    incident_id: int,
    now: datetime,
    what: str,
    decide: Decide,
    due_of: Callable[[rules.State], datetime | None],
) -> int:
    """Decide for one incident and start its run if it notifies; 1 if a run started."""
    from apps.orchestration.dispatch import BROKER_ERRORS

    try:
        with transaction.atomic():
            return _fire_locked(incident_id, now, what, decide, due_of)
    except BROKER_ERRORS as exc:
        # The run and its decision are stored; the recovery task publishes it later.
        logger.warning("noise %s for incident %s: broker unavailable (%s)", what, incident_id, exc)
        return 1


def _fire_locked(
    incident_id: int,
    now: datetime,
    what: str,
    decide: Decide,
    due_of: Callable[[rules.State], datetime | None],
) -> int:
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.errors import DefinitionInvalidError

    row = NoiseState.objects.select_for_update(skip_locked=True).filter(pk=incident_id).first()
    incident = Incident.objects.filter(pk=incident_id).values("status", "severity", "source")
    incident_row = incident.first()
    if row is None or incident_row is None:
        return 0  # another sweeper holds it, or the incident is gone
    definition = definition_for(row, incident_row["source"])
    settings = NoiseSettings.from_config(definition.config if definition else None)
    state = snapshot(row)
    due = due_of(state)
    slot = f"{what}:{incident_id}:{due.isoformat() if due else ''}"
    view = rules.IncidentView(incident_row["status"], incident_row["severity"])
    decision = decide(state, view, incident_silenced(incident_id, now), settings, now)
    if decision is None:
        store(row, state)
        return 0
    if decision.notify and definition is None:
        decision.notify = False
        decision.reason += f"; not sent: pipeline {row.definition_name!r} is gone or inactive"
    trace_id = str(uuid.uuid4())
    try:
        with transaction.atomic():
            log = NoiseDecision.objects.create(
                at=now,
                last_at=now,
                stage=NoiseDecision.Stage.SWEEP,
                **decision.to_dict(),  # kind, notify, analyze, reason, ...
                incident_id=incident_id,
                source=incident_row["source"],
                trace_id=trace_id,
                definition_name=definition.name if definition else row.definition_name,
                slot=slot,
                details={**decision.details, "sweep": what},
            )
    except IntegrityError:
        logger.info("noise %s for incident %s: slot %s already handled", what, incident_id, slot)
        return 0
    store(row, state)
    if not decision.notify or definition is None:
        return 0
    payload = {PAYLOAD_KEY: {**decision_output(log), "sweep": what}}
    try:
        run = DefinitionBasedOrchestrator(definition).start(
            payload=payload, source=RUN_SOURCE, trace_id=trace_id, incident_id=incident_id
        )
    except DefinitionInvalidError as exc:
        reason = f"{log.reason}; not sent: pipeline {definition.name!r} is invalid: {exc}"
        NoiseDecision.objects.filter(pk=log.pk).update(notify=False, reason=reason)
        logger.error("noise %s for incident %s: %s", what, incident_id, reason)
        return 0
    NoiseDecision.objects.filter(pk=log.pk).update(run_id=run.run_id)
    logger.info(
        "noise %s for incident %s: run %s (%s)",
        what,
        incident_id,
        run.run_id,
        decision.kind,
        extra={"trace_id": trace_id, "run_id": run.run_id},
    )
    return 1


def definition_for(row: NoiseState, source: str) -> Any:
    """The definition to run for the incident: the one that last handled it, else the
    source's default; None when none is active."""
    from apps.orchestration.defaults import (
        DEFAULT_ALERT_PIPELINE,
        DEFAULT_ALERT_PIPELINE_NAME,
        builtin,
        default_alert_definition,
    )
    from apps.orchestration.models import PipelineDefinition

    active = PipelineDefinition.objects.filter(is_active=True)
    if row.definition_id:
        found = active.filter(pk=row.definition_id).first()
        if found is not None:
            return found
    elif row.definition_name == DEFAULT_ALERT_PIPELINE_NAME:
        return builtin(DEFAULT_ALERT_PIPELINE_NAME, DEFAULT_ALERT_PIPELINE)
    if row.definition_name:
        found = active.filter(name=row.definition_name).first()
        if found is not None:
            return found
    return default_alert_definition(source)


def incident_silenced(incident_id: int, now: datetime) -> int | None:
    """The silence holding the incident (every firing alert matched), else None."""
    active = silences.active(now)
    if not active:
        return None
    rows = list(
        Alert.objects.filter(incident_id=incident_id).values(
            "status", "source", "severity", "name", "labels"
        )
    )
    firing = [r for r in rows if r["status"] == rules.FIRING] or rows
    held = [silences.holding(silences.subject(r), active) for r in firing]
    return held[0] if held and all(h is not None for h in held) else None


def _critical_incidents_matching(matchers: list[Any]) -> list[int]:
    """Active critical incidents with a firing alert the silence matches."""
    from apps.noise.matchers import matches_all

    rows = Alert.objects.filter(
        status=rules.FIRING,
        incident__status__in=Incident.ACTIVE_STATUSES,
        incident__severity="critical",
    ).values("incident_id", "source", "severity", "name", "labels")
    found = {r["incident_id"] for r in rows if matches_all(matchers, silences.subject(r))}
    return sorted(found)


# --- the runs the sweeps start ------------------------------------------------------------------


def periodic_decision(payload: Any, run_id: str, trace_id: str) -> NoiseDecision | None:
    """The sweep decision a run was started for, or None for an ordinary run.

    The payload only names the decision; the row must exist with this run's trace id (a
    fresh uuid per decision) and no other run, so a webhook body imitating the marker is
    just an unrecognised payload.
    """
    marker = payload.get(PAYLOAD_KEY) if isinstance(payload, dict) else None
    decision_id = marker.get("decision_id") if isinstance(marker, dict) else None
    if not isinstance(decision_id, int) or isinstance(decision_id, bool) or not trace_id:
        return None
    row = NoiseDecision.objects.filter(
        pk=decision_id, stage=NoiseDecision.Stage.SWEEP, trace_id=trace_id
    ).first()
    if row is None or row.run_id not in ("", run_id):
        return None
    return row


def periodic_output(row: NoiseDecision) -> dict[str, Any]:
    """The ingest node's output for a sweep's run: the incident and the decision."""
    incident = Incident.objects.filter(pk=row.incident_id).values("source", "severity").first()
    alerts = list(
        Alert.objects.filter(incident_id=row.incident_id).values(
            "fingerprint", "status", "severity"
        )
    )
    firing = [a for a in alerts if a["status"] == rules.FIRING] or alerts
    primary = max(firing, key=lambda a: rules.severity_rank(a["severity"]), default=None)
    return {
        "alerts_created": 0,
        "alerts_updated": 0,
        "alerts_resolved": 0,
        "incidents_created": 0,
        "incidents_updated": 0,
        "source": incident["source"] if incident else "",
        "incident_id": row.incident_id,
        "incident_ids": [row.incident_id] if row.incident_id else [],
        "alert_fingerprint": primary["fingerprint"] if primary else None,
        "severity": incident["severity"] if incident else None,
        "status": primary["status"] if primary else None,
        "alert_count": 0,
        "noise": decision_output(row),
    }
