"""Grouping alerts into incidents, and the incident lifecycle.

Rules (each one here, nowhere else):
- a firing alert joins the active (open or acknowledged) incident of its source and group key;
- a refiring alert rejoins its incident if that is still active, reopens it if it was resolved
  (closed incidents are final: a new one is opened), else a new incident is opened;
- an incident resolves when none of its alerts is firing any more;
- severity only escalates while the incident is active;
- acknowledged / unacknowledged events from the source move the incident between those states.

Every function here runs inside the caller's transaction and locks the incident row first,
so two workers touching one incident serialise instead of overwriting each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.alerts.drivers import AlertEvent, AlertStatus, NormalizedAlert, Severity
from apps.alerts.models import Alert, Incident
from project import rows

# Losing the race for a group's single active incident more often than this means something
# other than a race is wrong; let the IntegrityError surface.
MAX_GROUP_RETRIES = 5


@dataclass
class IncidentChanges:
    """Which incidents one ``process_webhook`` call created or changed."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)  # resolved before, active again
    # Every incident touched, as the last alert left it.
    touched: dict[int, Incident] = field(default_factory=dict)

    def mark_created(self, incident: Incident) -> None:
        if incident.pk not in self.created:
            self.created.append(incident.pk)

    def mark_updated(self, incident: Incident) -> None:
        if incident.pk not in self.created and incident.pk not in self.updated:
            self.updated.append(incident.pk)


def rank(severity: str) -> int:
    return Severity(severity).rank


def _locked(incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    return rows.get(Incident, lock=True, id=incident_id)


# "Active", as a SQL fragment with {status} for the column. The statuses are our constants,
# written into the SQL so that PostgreSQL matches the condition to the partial unique index
# (alerts_one_active_incident_per_group).
_ACTIVE_VALUES = ", ".join(f"'{s.value}'" for s in Incident.ACTIVE_STATUSES)
_ACTIVE_FILTER = "{status} IN (" + _ACTIVE_VALUES + ")"


def _active_condition() -> str:
    return _ACTIVE_FILTER.format(status=rows.column(Incident, "status"))


def _active_for_group(source: str, group_key: str) -> Incident | None:
    """The group's active incident, locked (the partial unique index allows one)."""
    return rows.get(
        Incident, lock=True, also=_active_condition(), source=source, group_key=group_key
    )


def _open_new(alert: Alert, changes: IncidentChanges) -> Incident:
    """A new incident for the alert's group, or the group's active one when another ingest
    opened it first (INSERT ... ON CONFLICT on the partial unique index: no savepoint)."""
    target = f"({rows.column(Incident, 'source')}, {rows.column(Incident, 'group_key')}) "
    conflict = f"{target}WHERE {_active_condition()}"
    for _attempt in range(MAX_GROUP_RETRIES):
        incident = rows.create_unless(
            Incident,
            {
                "title": alert.name[:500],
                "description": alert.description,
                "severity": alert.severity,
                "source": alert.source,
                "group_key": alert.group_key,
            },
            conflict=conflict,
        )
        if incident is not None:
            changes.mark_created(incident)
            return incident
        active = _active_for_group(alert.source, alert.group_key)
        if active is not None:
            return active
        # The winner's incident stopped being active before we could lock it: try again.
    raise IntegrityError(
        f"could not open an incident for {alert.source} group {alert.group_key!r} "
        f"after {MAX_GROUP_RETRIES} attempts"
    )


def _open_or_reopen(alert: Alert, previous: Incident | None, changes: IncidentChanges) -> Incident:
    """The group's active incident, or the alert's resolved one reopened, or a new one.

    The partial unique constraint allows one active incident per group; when another worker
    opens it first our write fails, and the retry finds theirs and joins it.
    """
    for _attempt in range(MAX_GROUP_RETRIES):
        active = _active_for_group(alert.source, alert.group_key)
        if active is not None:
            return active
        reopenable = (
            previous is not None
            and previous.status == Incident.Status.RESOLVED
            and previous.group_key == alert.group_key
        )
        if not reopenable:
            return _open_new(alert, changes)
        try:
            with transaction.atomic():
                previous.status = Incident.Status.OPEN
                previous.severity = alert.severity
                previous.resolved_at = None
                previous.acknowledged_at = None
                previous.save()
        except IntegrityError:
            # Another ingest opened the group's incident first: join it on the next turn.
            previous.refresh_from_db()
            continue
        changes.mark_updated(previous)
        changes.reopened.append(previous.pk)
        return previous
    raise IntegrityError(
        f"could not open an incident for {alert.source} group {alert.group_key!r} "
        f"after {MAX_GROUP_RETRIES} attempts"
    )


def _apply_lifecycle_event(incident: Incident, event: AlertEvent) -> bool:
    now = timezone.now()
    if event is AlertEvent.ACKNOWLEDGED and incident.status == Incident.Status.OPEN:
        incident.status = Incident.Status.ACKNOWLEDGED
        incident.acknowledged_at = now
        return True
    if event is AlertEvent.UNACKNOWLEDGED and incident.status == Incident.Status.ACKNOWLEDGED:
        incident.status = Incident.Status.OPEN
        incident.acknowledged_at = None
        return True
    return False


def attach_firing(
    alert: Alert, normalized: NormalizedAlert, refired: bool, changes: IncidentChanges
) -> Incident:
    """Put a firing alert into its incident and update the incident; returns it (locked)."""
    current = _locked(alert.incident_id)
    if current is not None and current.is_active:
        incident = current
    else:
        incident = _open_or_reopen(alert, current, changes)

    return _join(incident, alert, normalized, refired, changes)


def attach_new_firing(
    alert: Alert, normalized: NormalizedAlert, changes: IncidentChanges
) -> Incident:
    """Put a just-inserted firing alert into its group's incident: the one it was inserted
    with (``active_id``'s answer) if that is still active once locked, else a new one.

    The incident is locked only now, after the alert: every ingest locks an alert before its
    incident, so two ingests of one group cannot wait for each other in a circle.
    """
    current = _locked(alert.incident_id)
    incident = current if current is not None and current.is_active else _open_new(alert, changes)
    _join(incident, alert, normalized, False, changes)
    changes.mark_updated(incident)  # it has a new alert (nothing for one it created)
    return incident


def active_id(source: str, group_key: str) -> int | None:
    """The id of the group's active incident, not locked (see ``attach_new_firing``): a new
    firing alert is inserted with it."""
    found = rows.values(
        Incident,
        ("id",),
        f"{{source}} = %s AND {{group_key}} = %s AND {_ACTIVE_FILTER}",
        [source, group_key],
    )
    return found[0]["id"] if found else None


def _join(
    incident: Incident,
    alert: Alert,
    normalized: NormalizedAlert,
    refired: bool,
    changes: IncidentChanges,
) -> Incident:
    dirty = False
    if incident.is_active and rank(alert.severity) > rank(incident.severity):
        incident.severity = alert.severity
        dirty = True
    if _apply_lifecycle_event(incident, normalized.event):
        dirty = True
    if dirty:
        rows.save(incident, ("severity", "status", "acknowledged_at"))
    if alert.incident_id != incident.pk:
        alert.incident = incident
        rows.save(alert, ("incident_id",))
        dirty = True
    if dirty or refired:
        changes.mark_updated(incident)
    return incident


def attach_resolved(alert: Alert, changes: IncidentChanges) -> Incident | None:
    """A resolved alert leaves its incident; the incident resolves once nothing fires.

    An alert first seen already resolved has no incident: there is nothing to deal with.
    """
    incident = _locked(alert.incident_id)
    if incident is None or not incident.is_active:
        return incident
    still_firing = (
        incident.alerts.filter(status=AlertStatus.FIRING.value).exclude(pk=alert.pk).exists()
    )
    if not still_firing:
        incident.status = Incident.Status.RESOLVED
        incident.resolved_at = timezone.now()
        incident.save()
    changes.mark_updated(incident)
    return incident


def close_incident(incident_id: int) -> Incident | None:
    """An operator closes an incident for good; later alerts of its group open a new one."""
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident is None or incident.status == Incident.Status.CLOSED:
            return incident
        incident.status = Incident.Status.CLOSED
        incident.closed_at = timezone.now()
        incident.save()
        return incident


class IncidentStateError(ValueError):
    """The incident's status does not allow that change; the message says why."""


def _transition(incident_id: int, allowed: tuple[str, ...], to: str, stamp: str) -> Incident | None:
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident is None:
            return None
        if incident.status == to:
            return incident  # already there: repeating the request changes nothing
        if incident.status not in allowed:
            raise IncidentStateError(
                f"Incident {incident_id} is {incident.status}; only "
                f"{' or '.join(allowed)} incidents can become {to}"
            )
        incident.status = to
        setattr(incident, stamp, timezone.now())
        incident.save()
        return incident


def acknowledge_incident(incident_id: int) -> Incident | None:
    """An operator takes an open incident; later alerts of its group still join it."""
    return _transition(
        incident_id, (Incident.Status.OPEN,), Incident.Status.ACKNOWLEDGED, "acknowledged_at"
    )


def resolve_incident(incident_id: int) -> Incident | None:
    """An operator resolves an active incident; a refiring alert reopens it."""
    return _transition(
        incident_id,
        (Incident.Status.OPEN, Incident.Status.ACKNOWLEDGED),
        Incident.Status.RESOLVED,
        "resolved_at",
    )
