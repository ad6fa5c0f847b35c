"""The noise rules as pure functions: a state snapshot and an event in, a decision out.

No database, no clock: the caller (``services``, ``sweeps``) loads an incident's
``NoiseState`` as a ``State``, passes what happened and ``now``, and writes the mutated
state and the ``Decision`` back in one transaction. Every decision says why, in words an
operator reads in ``manage.py trace``.

Order of the rules for a delivery: nothing material changed → *unchanged*; the incident is
flapping → *flapping* (quiet); every changed alert silenced → *silenced*; it starts flapping →
one *flapping* message; it resolved → *resolution* (only if someone was told); first firing
→ *new*; otherwise *changed*. Whatever would notify then passes the storm governor (at most
N per incident per minute, the rest *storm-folded* into the next message) and the analysis
cooldown (one analysis per incident per cooldown; later notifications reuse it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apps.alerts.drivers.base import Severity
from apps.noise.config import NoiseSettings, format_duration

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
REMINDER = "reminder"
RESOLUTION = "resolution"
STILL_FIRING = "still-firing"
FLAPPING = "flapping"
SILENCED = "silenced"
STORM_FOLDED = "storm-folded"
KINDS = (
    NEW,
    CHANGED,
    UNCHANGED,
    REMINDER,
    RESOLUTION,
    STILL_FIRING,
    FLAPPING,
    SILENCED,
    STORM_FOLDED,
)

FIRING = "firing"
RESOLVED = "resolved"
ACTIVE_STATUSES = ("open", "acknowledged")
STORM_WINDOW = timedelta(minutes=1)
_LISTED_CHANGES = 5


def at(moment: datetime | None) -> str:
    """A timestamp as operators read it in reasons and traces."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def severity_rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return -1


@dataclass(frozen=True)
class AlertChange:
    """What one delivery did to one alert (``old_status`` empty: the alert is new)."""

    fingerprint: str
    name: str
    status: str
    severity: str
    old_status: str = ""
    old_severity: str = ""
    event: str = ""
    silenced_by: int | None = None

    @property
    def created(self) -> bool:
        return not self.old_status

    @property
    def status_changed(self) -> bool:
        return bool(self.old_status) and self.old_status != self.status

    @property
    def escalated(self) -> bool:
        return (
            self.status == FIRING
            and bool(self.old_severity)
            and severity_rank(self.severity) > severity_rank(self.old_severity)
        )

    @property
    def material(self) -> bool:
        """A new firing alert, a status change or a severity escalation: news."""
        return (self.created and self.status == FIRING) or self.status_changed or self.escalated

    def describe(self) -> str:
        if self.created:
            return f"new alert {self.name} ({self.severity})"
        if self.status_changed:
            return f"{self.name}: {self.old_status} → {self.status}"
        if self.escalated:
            return f"{self.name}: severity {self.old_severity} → {self.severity}"
        return f"{self.name}: {self.status}, {self.severity}"


@dataclass(frozen=True)
class IncidentView:
    status: str
    severity: str
    opened: str = ""  # "created" or "reopened" by this very delivery

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass
class State:
    """An incident's noise memory (the ``NoiseState`` row, without the database)."""

    told: bool = False
    incident_status: str = ""  # as noise last saw it; "" = never
    last_notified_at: datetime | None = None
    last_notified_kind: str = ""
    next_reminder_at: datetime | None = None
    recent: list[datetime] = field(default_factory=list)  # notifications in the storm window
    folded: int = 0
    digest_due_at: datetime | None = None
    flap_changes: dict[str, list[datetime]] = field(default_factory=dict)
    flapping_since: datetime | None = None
    flap_quiet_until: datetime | None = None
    analysis_at: datetime | None = None


@dataclass
class Decision:
    kind: str
    notify: bool = False
    reason: str = ""
    analyze: bool = False
    reuse_analysis: bool = False
    folded: int = 0  # earlier storm-folded notifications this message sums up
    silence_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "notify": self.notify,
            "analyze": self.analyze,
            "reuse_analysis": self.reuse_analysis,
            "reason": self.reason,
            "folded": self.folded,
            "silence_id": self.silence_id,
        }


# --- a delivery ---------------------------------------------------------------------------------


def on_delivery(
    state: State,
    changes: list[AlertChange],
    incident: IncidentView,
    settings: NoiseSettings,
    now: datetime,
) -> Decision:
    """What a delivery's alert changes mean for the incident's notifications."""
    material = [c for c in changes if c.material]
    _record_flaps(state, changes, settings, now)
    previously = state.incident_status
    state.incident_status = incident.status
    if not material and not incident.opened:
        return Decision(UNCHANGED, reason=_unchanged_reason(changes))
    if state.flapping_since is not None:
        return Decision(
            FLAPPING,
            reason=f"flapping since {at(state.flapping_since)}: quiet until stable for "
            f"{format_duration(settings.flap_window)} (not before {at(state.flap_quiet_until)}); "
            f"this change: {_summary(material)}",
        )
    material = material or changes  # the incident (re)opened around unchanged alerts
    silenced = [c for c in material if c.silenced_by is not None]
    if len(silenced) == len(material):
        if incident.active and state.next_reminder_at is None and settings.repeat_interval:
            # Remind later if it is still firing once the silence is over.
            state.next_reminder_at = now + settings.repeat_interval
        return Decision(
            SILENCED,
            reason=f"silenced by silence #{silenced[0].silenced_by}: {_summary(material)}",
            silence_id=silenced[0].silenced_by,
        )
    flapper = _flapper(state, settings)
    if flapper is not None:
        state.flapping_since, state.flap_quiet_until = now, now + settings.flap_window
        window = format_duration(settings.flap_window)
        count = len(state.flap_changes[flapper])
        name = next((c.name for c in changes if c.fingerprint == flapper), flapper)
        reason = (
            f"flapping: {name} changed state {count} times in {window} (more than "
            f"{settings.flap_threshold}); quiet until it has been stable for {window}"
        )
        return govern(
            state, Decision(FLAPPING, notify=True, reason=reason), incident, settings, now
        )
    if not incident.active:
        if incident.status == RESOLVED and any(c.status == RESOLVED for c in material):
            return resolution(
                state, incident, settings, now, "every alert of the incident resolved"
            )
        return Decision(
            UNCHANGED, reason=f"the incident is {incident.status}: {_summary(material)}"
        )
    if incident.opened or previously in ("", RESOLVED, "closed"):
        reopened = incident.opened == "reopened" or (not incident.opened and previously == RESOLVED)
        opened = "incident reopened" if reopened else "new incident"
        decision = Decision(NEW, notify=True, reason=f"{opened}: {_summary(material)}")
    else:
        decision = Decision(CHANGED, notify=True, reason=_summary(material))
    return govern(state, decision, incident, settings, now)


def _unchanged_reason(changes: list[AlertChange]) -> str:
    events = sorted({c.event for c in changes if c.event})
    text = (
        f"nothing material changed: {len(changes)} alert(s) re-sent with the same status "
        "and no severity escalation"
    )
    return text + (f" ({', '.join(events)} by the source)" if events else "")


def _summary(material: list[AlertChange]) -> str:
    text = "; ".join(c.describe() for c in material[:_LISTED_CHANGES])
    extra = len(material) - _LISTED_CHANGES
    return text + (f"; and {extra} more" if extra > 0 else "")


def _record_flaps(
    state: State, changes: list[AlertChange], settings: NoiseSettings, now: datetime
) -> None:
    if not settings.flap_window:
        state.flap_changes = {}
        return
    for change in changes:
        if change.status_changed:
            state.flap_changes.setdefault(change.fingerprint, []).append(now)
    horizon = now - settings.flap_window
    keep = settings.flap_threshold + 1  # enough to tell "more than the threshold"
    state.flap_changes = {
        fp: [t for t in times if t > horizon][-keep:]
        for fp, times in state.flap_changes.items()
        if any(t > horizon for t in times)
    }
    if state.flapping_since is not None and any(c.status_changed for c in changes):
        state.flap_quiet_until = now + settings.flap_window


def _flapper(state: State, settings: NoiseSettings) -> str | None:
    """The fingerprint of an alert that changed state more often than the threshold."""
    if not settings.flap_window:
        return None
    for fingerprint, times in state.flap_changes.items():
        if len(times) > settings.flap_threshold:
            return fingerprint
    return None


def resolution(
    state: State, incident: IncidentView, settings: NoiseSettings, now: datetime, why: str
) -> Decision:
    """The incident resolved: one message, only if someone was told."""
    state.next_reminder_at = None
    if not state.told:
        return Decision(RESOLUTION, reason=f"{why}; nobody was told about it, so no message")
    if not settings.notify_resolved:
        return Decision(RESOLUTION, reason=f"{why}; notify_resolved is off")
    return govern(state, Decision(RESOLUTION, notify=True, reason=why), incident, settings, now)


# --- the storm governor and the analysis cooldown -------------------------------------------------


def govern(
    state: State, decision: Decision, incident: IncidentView, settings: NoiseSettings, now: datetime
) -> Decision:
    """Let a notification through the storm governor, or fold it; book what went out (the
    reminder clock, the analysis cooldown). Every rule that would notify ends here."""
    limit = settings.max_notifications_per_minute
    if limit:
        recent = sorted(t for t in state.recent if t > now - STORM_WINDOW)
        if len(recent) >= limit:
            state.recent = recent
            state.folded += 1
            state.digest_due_at = max(recent[0] + STORM_WINDOW, now)
            return Decision(
                STORM_FOLDED,
                reason=f"storm governor: {len(recent)} notifications for this incident in the "
                f"last minute (at most {limit}); {decision.kind} folded into the next message "
                f"({state.folded} waiting, summed up at {at(state.digest_due_at)} at the latest)",
                details={"folded_kind": decision.kind, "folded_reason": decision.reason},
            )
        state.recent = (recent + [now])[-limit:]
    decision.folded, state.folded, state.digest_due_at = state.folded, 0, None
    state.told = True
    state.last_notified_at, state.last_notified_kind = now, decision.kind
    repeat = settings.repeat_interval
    state.next_reminder_at = now + repeat if incident.active and repeat else None
    if decision.kind == RESOLUTION and not settings.analyze_resolved:
        return decision
    cooldown = settings.analysis_cooldown
    if not cooldown or state.analysis_at is None or now - state.analysis_at >= cooldown:
        decision.analyze, state.analysis_at = True, now
    else:
        decision.reuse_analysis = True
        decision.details["analysis"] = (
            f"reusing the analysis started {at(state.analysis_at)} (one per "
            f"{format_duration(cooldown)})"
        )
    return decision


def decision_in(previous_outputs: dict[str, Any]) -> dict[str, Any] | None:
    """The noise decision an earlier (ingest) node put in its output, or None (no noise
    control in this run: a pipeline without an ingest node, a node tested on its own)."""
    found = None
    for output in previous_outputs.values():
        noise = output.get("noise") if isinstance(output, dict) else None
        if isinstance(noise, dict) and noise.get("kind") in KINDS and "notify" in noise:
            found = noise  # the latest ingest node wins
    return found
