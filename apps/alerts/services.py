"""Ingesting webhook payloads: parse with a driver, upsert alerts, group them into incidents.

``AlertOrchestrator().process_webhook(payload, driver=None)`` is the one entry point (the
ingest node, the CLI and tests call it); ``incident_summary(incident_id)`` is the shape later
pipeline nodes (intelligence, notify) read an incident in.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from apps.alerts.drivers import (
    AlertEvent,
    AlertStatus,
    NormalizedAlert,
    PayloadNotRecognizedError,
    UnknownEventError,
    parse_payload,
)
from apps.alerts.drivers.base import stable_fingerprint
from apps.alerts.incidents import (
    IncidentChanges,
    active_id,
    attach_firing,
    attach_new_firing,
    attach_resolved,
    rank,
)
from apps.alerts.models import Alert, AlertHistory, Incident
from project import rows

logger = logging.getLogger(__name__)

MAX_INSERT_RETRIES = 3

# What a delivery of a known alert may change (with updated_at, stamped by rows.save).
_UPDATED_FIELDS = (
    "name",
    "description",
    "labels",
    "annotations",
    "raw_payload",
    "last_seen_at",
    "seen_count",
    "group_key",
    "severity",
    "started_at",
    "ended_at",
    "status",
)


@dataclass
class TouchedAlert:
    """One alert this call created or changed, and the incident it is in now."""

    alert_id: int
    fingerprint: str
    name: str
    status: str
    severity: str
    incident_id: int | None
    change: str  # "created", "updated" or "resolved"
    # Before this call ("" when it created the alert): what noise control compares.
    old_status: str = ""
    old_severity: str = ""
    event: str = ""


@dataclass
class ProcessingResult:
    """What one ``process_webhook`` call did. Counts are for this call only."""

    source: str = ""
    alerts_created: int = 0
    alerts_updated: int = 0
    alerts_resolved: int = 0
    incidents_created: int = 0
    incidents_updated: int = 0
    errors: list[str] = field(default_factory=list)
    # Set when the source sent an event type we deliberately ignore (answered 2xx upstream).
    ignored: str = ""
    alerts: list[TouchedAlert] = field(default_factory=list)
    incident_ids: list[int] = field(default_factory=list)
    # Incidents this call created or reopened (news even when no alert changed: a firing
    # alert whose incident was closed, or resolved by an operator, opens one again).
    created_incident_ids: list[int] = field(default_factory=list)
    reopened_incident_ids: list[int] = field(default_factory=list)
    # Every incident touched, as this call left it (locked until the caller commits): what
    # noise control and the incident summary read instead of reading it again.
    incidents: dict[int, Incident] = field(default_factory=dict, repr=False)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def primary_alert(self) -> TouchedAlert | None:
        """The most severe firing alert of this call (else the most severe one), first wins."""
        if not self.alerts:
            return None
        firing = [a for a in self.alerts if a.status == AlertStatus.FIRING] or self.alerts
        return max(firing, key=lambda a: rank(a.severity))  # max keeps the first of equals

    @property
    def incident_id(self) -> int | None:
        """This call's incident: the primary alert's, else the first one touched."""
        primary = self.primary_alert
        if primary is not None and primary.incident_id is not None:
            return primary.incident_id
        return self.incident_ids[0] if self.incident_ids else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, incidents={}))
        del data["incidents"]
        data["incident_id"] = self.incident_id
        return data


def _fit(value: str, limit: int = 255) -> str:
    """Keys longer than the column are hashed, not cut: cutting could merge distinct keys."""
    return value if len(value) <= limit else f"h:{stable_fingerprint(value)}"


def stored_fingerprint(fingerprint: str) -> str:
    """The fingerprint as the ``Alert`` row stores it (long ones hashed)."""
    return _fit(fingerprint)


class AlertOrchestrator:
    """Turns webhook payloads into ``Alert`` rows and ``Incident`` groups."""

    def process_webhook(self, payload: Any, driver: str | None = None) -> ProcessingResult:
        """Parse ``payload`` (with the named driver, else auto-detected) and store it.

        Payload problems (unknown driver, unrecognised format) are returned in ``errors``;
        an event type the source sends but we do not handle is returned in ``ignored``.
        Database errors propagate: the caller decides whether to retry. All alerts of one
        payload are written in one transaction, so a failure leaves nothing half-written.
        """
        result = ProcessingResult(source=driver or "")
        try:
            chosen, normalized = parse_payload(payload, driver)
        except KeyError as exc:
            result.errors.append(str(exc.args[0]))
            return result
        except UnknownEventError as exc:
            result.source = exc.source
            result.ignored = exc.message
            logger.info("ignored alert event: %s", exc.message)
            return result
        except PayloadNotRecognizedError as exc:
            result.errors.append(exc.message)
            return result
        result.source = chosen.name

        changes = IncidentChanges()
        touched: list[tuple[int, TouchedAlert]] = []
        # Lock rows in fingerprint order so two payloads sharing alerts cannot deadlock.
        ordered = sorted(enumerate(normalized), key=lambda pair: pair[1].fingerprint)
        # No savepoint when the caller already holds a transaction (the ingest node does):
        # a failure here fails the caller's whole transaction anyway.
        with transaction.atomic(savepoint=False):
            for index, item in ordered:
                touched.append((index, self._ingest_one(chosen.name, item, changes)))

        result.alerts = [t for _, t in sorted(touched, key=lambda pair: pair[0])]
        for t in result.alerts:
            if t.change == "created":
                result.alerts_created += 1
            elif t.change == "resolved":
                result.alerts_resolved += 1
            else:
                result.alerts_updated += 1
            if t.incident_id is not None and t.incident_id not in result.incident_ids:
                result.incident_ids.append(t.incident_id)
        result.incidents_created = len(changes.created)
        result.incidents_updated = len(changes.updated)
        result.created_incident_ids = list(changes.created)
        result.reopened_incident_ids = list(changes.reopened)
        result.incidents = dict(changes.touched)
        return result

    def _ingest_one(
        self, source: str, item: NormalizedAlert, changes: IncidentChanges
    ) -> TouchedAlert:
        fingerprint = _fit(item.fingerprint)
        for _attempt in range(MAX_INSERT_RETRIES):
            alert = rows.get(Alert, lock=True, source=source, fingerprint=fingerprint)
            if alert is not None:
                return self._ingest_existing(alert, item, changes)
            touched = self._ingest_new(source, fingerprint, item, changes)
            if touched is not None:
                return touched
            # Inserted concurrently by another ingest, which committed: lock theirs.
            logger.info("alert %s:%s inserted concurrently; locking it", source, fingerprint)
        raise IntegrityError(f"could not insert or find alert {source}:{fingerprint}")

    def _ingest_new(
        self, source: str, fingerprint: str, item: NormalizedAlert, changes: IncidentChanges
    ) -> TouchedAlert | None:
        """Store an alert seen for the first time; None when a concurrent ingest stored it
        first. A firing alert is inserted with its group's active incident (looked up, not
        locked: the alert is locked first), so joining an open incident writes it once."""
        group_key = _fit(item.group_key or f"alert:{fingerprint}")
        firing = item.status is AlertStatus.FIRING
        active = active_id(source, group_key) if firing else None
        now = timezone.now()
        alert = rows.create_unless(
            Alert,
            {
                "source": source,
                "fingerprint": fingerprint,
                "name": item.name[:500],
                "status": item.status.value,
                "severity": item.severity.value,
                "description": item.description,
                "labels": item.labels,
                "annotations": item.annotations,
                "raw_payload": item.raw,
                "group_key": group_key,
                "started_at": item.started_at or now,
                "ended_at": item.ended_at,
                "last_seen_at": now,
                "seen_count": 1,
                "incident_id": active,
            },
            conflict=f"({rows.column(Alert, 'source')}, {rows.column(Alert, 'fingerprint')})",
        )
        if alert is None:
            return None
        # An alert first seen resolved has nothing to deal with: no incident.
        incident = attach_new_firing(alert, item, changes) if firing else None
        return self._touched(alert, incident, item, changes, True, "", "")

    def _ingest_existing(
        self, alert: Alert, item: NormalizedAlert, changes: IncidentChanges
    ) -> TouchedAlert:
        old_status, old_severity = alert.status, alert.severity
        self._update_alert(alert, item)
        refired = old_status == AlertStatus.RESOLVED and alert.status == AlertStatus.FIRING
        if alert.status == AlertStatus.FIRING:
            incident: Incident | None = attach_firing(alert, item, refired, changes)
        else:
            incident = attach_resolved(alert, changes)
        return self._touched(alert, incident, item, changes, False, old_status, old_severity)

    def _touched(
        self,
        alert: Alert,
        incident: Incident | None,
        item: NormalizedAlert,
        changes: IncidentChanges,
        created: bool,
        old_status: str,
        old_severity: str,
    ) -> TouchedAlert:
        if incident is not None:
            changes.touched[incident.pk] = incident
        self._record_history(alert, incident, item, created, old_status, old_severity)
        if created:
            change = "created"
        elif old_status == AlertStatus.FIRING and alert.status == AlertStatus.RESOLVED:
            change = "resolved"
        else:
            change = "updated"
        return TouchedAlert(
            alert_id=alert.pk,
            fingerprint=alert.fingerprint,
            name=alert.name,
            status=alert.status,
            severity=alert.severity,
            incident_id=incident.pk if incident is not None else None,
            change=change,
            old_status=old_status,
            old_severity=old_severity,
            event=item.event.value,
        )

    def _update_alert(self, alert: Alert, item: NormalizedAlert) -> None:
        was_resolved = alert.status == AlertStatus.RESOLVED
        alert.name = item.name[:500] or alert.name
        alert.description = item.description or alert.description
        alert.labels = item.labels or alert.labels
        alert.annotations = item.annotations or alert.annotations
        alert.raw_payload = item.raw
        alert.last_seen_at = timezone.now()
        alert.seen_count += 1
        alert.group_key = _fit(item.group_key) if item.group_key else alert.group_key
        if item.status is AlertStatus.FIRING:
            # Resolution messages rarely carry a meaningful severity; firing ones do.
            alert.severity = item.severity.value
            if was_resolved:
                alert.started_at = item.started_at or timezone.now()
            alert.started_at = alert.started_at or item.started_at or timezone.now()
            alert.ended_at = None
        else:
            alert.ended_at = item.ended_at or alert.ended_at or timezone.now()
        alert.status = item.status.value
        rows.save(alert, _UPDATED_FIELDS)

    def _record_history(
        self,
        alert: Alert,
        incident: Incident | None,
        item: NormalizedAlert,
        created: bool,
        old_status: str,
        old_severity: str,
    ) -> None:
        events: list[str] = []
        if created:
            events.append(AlertHistory.Event.CREATED)
        elif old_status != alert.status:
            events.append(alert.status)  # "firing" or "resolved"
        if not created and old_severity != alert.severity:
            events.append(AlertHistory.Event.SEVERITY_CHANGED)
        if item.event is AlertEvent.ACKNOWLEDGED:
            events.append(AlertHistory.Event.ACKNOWLEDGED)
        elif item.event is AlertEvent.UNACKNOWLEDGED:
            events.append(AlertHistory.Event.UNACKNOWLEDGED)
        for event in events:
            rows.insert(
                AlertHistory,
                {
                    "alert_id": alert.pk,
                    "incident_id": incident.pk if incident is not None else None,
                    "event": event,
                    "old_status": old_status,
                    "new_status": alert.status,
                    "old_severity": old_severity,
                    "new_severity": alert.severity,
                },
            )


_SUMMARY_FIELDS = (
    "name",
    "fingerprint",
    "status",
    "severity",
    "description",
    "labels",
    "annotations",
    "started_at",
)


def _recent_alerts(incident_id: int, limit: int) -> list[dict[str, Any]]:
    """The incident's ``limit`` most recently received alerts, newest first (every run that
    notifies reads them: one statement written once, no model instances)."""
    return rows.values(
        Alert,
        _SUMMARY_FIELDS,
        "{incident} = %s",
        [incident_id],
        order="{received_at} DESC, {id} DESC",
        limit=limit,
    )


def incident_summary(incident_id: int, incident: Incident | None = None) -> dict[str, Any] | None:
    """An incident and its alerts as plain JSON-safe data, or ``None`` if it does not exist.

    The shape other nodes rely on: ``id, title, status, severity, description, source,
    created_at`` (ISO) and ``alerts`` (``name, fingerprint, status, severity, description,
    labels, annotations, started_at``), plus ``alert_count``, ``alert_counts`` (by status)
    and ``alerts_omitted``. ``alerts`` holds at most ``PIPELINE_CONTEXT_MAX_ALERTS`` alerts
    (the most recently received, oldest first): an incident of thousands of alerts must not
    make every run's work, prompt and message grow with it. ``incident``: the row as the
    caller has it already (the ingest, which just wrote it), instead of reading it again.
    """
    if incident is None or incident.pk != incident_id:
        incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    limit = settings.PIPELINE_CONTEXT_MAX_ALERTS
    recent = _recent_alerts(incident_id, limit)
    recent.reverse()
    if len(recent) < limit:
        counts: dict[str, int] = {}
        for a in recent:
            counts[a["status"]] = counts.get(a["status"], 0) + 1
    else:
        found = incident.alerts.values("status").annotate(n=Count("id")).order_by()
        counts = {row["status"]: row["n"] for row in found}
    total = sum(counts.values())
    return {
        "id": incident.pk,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity,
        "description": incident.description,
        "source": incident.source,
        "created_at": incident.created_at.isoformat(),
        "alert_count": total,
        "alert_counts": counts,
        "alerts_omitted": max(0, total - len(recent)),
        "alerts": [
            {
                **a,
                "started_at": a["started_at"].isoformat() if a["started_at"] else None,
            }
            for a in recent
        ],
    }
