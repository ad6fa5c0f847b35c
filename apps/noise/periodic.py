"""The noise rules for the sweeps' events (pure, like ``decide``): a reminder that came due,
the digest after a storm, the end of flapping, the end of a silence. Each returns None when
there is nothing to decide, else a ``Decision`` that went through the same storm governor and
analysis cooldown as a delivery's."""

from __future__ import annotations

from datetime import datetime

from apps.alerts.drivers.base import Severity
from apps.noise.config import NoiseSettings, format_duration
from apps.noise.decide import (
    CHANGED,
    FLAPPING,
    REMINDER,
    RESOLVED,
    SILENCED,
    STILL_FIRING,
    STORM_WINDOW,
    Decision,
    IncidentView,
    State,
    at,
    govern,
    resolution,
)


def on_reminder(
    state: State,
    incident: IncidentView,
    silenced_by: int | None,
    settings: NoiseSettings,
    now: datetime,
) -> Decision | None:
    """A reminder that came due; None when there is none (or the incident is over)."""
    if state.next_reminder_at is None or state.next_reminder_at > now:
        return None
    repeat = settings.repeat_interval
    if not incident.active or not repeat:
        state.next_reminder_at = None
        return None
    state.next_reminder_at = now + repeat
    if incident.status == "acknowledged":
        # Someone owns it (as PagerDuty stops escalating once acknowledged).
        return Decision(REMINDER, reason="reminder held: the incident is acknowledged")
    if state.flapping_since is not None:
        return Decision(
            FLAPPING, reason=f"reminder held: flapping since {at(state.flapping_since)}"
        )
    if silenced_by is not None:
        return Decision(
            SILENCED, reason=f"reminder held by silence #{silenced_by}", silence_id=silenced_by
        )
    told = (
        f"last told {at(state.last_notified_at)} ({state.last_notified_kind})"
        if state.last_notified_at
        else "nobody was told yet (it was held until now)"
    )
    reason = f"still {incident.status} ({incident.severity}); {told}"
    return govern(state, Decision(REMINDER, notify=True, reason=reason), incident, settings, now)


def on_digest(
    state: State,
    incident: IncidentView,
    silenced_by: int | None,
    settings: NoiseSettings,
    now: datetime,
) -> Decision | None:
    """After a storm: one message summing up the folded notifications, once the governor
    lets one through again."""
    if state.folded == 0:
        state.digest_due_at = None
        return None
    if state.digest_due_at is None or state.digest_due_at > now:
        return None
    if state.flapping_since is not None:
        state.digest_due_at = None  # the message at the end of the flapping carries them
        return None
    limit = settings.max_notifications_per_minute
    recent = sorted(t for t in state.recent if t > now - STORM_WINDOW)
    if limit and len(recent) >= limit:
        state.digest_due_at = recent[0] + STORM_WINDOW
        return None
    folded = state.folded
    if silenced_by is not None:
        state.folded, state.digest_due_at = 0, None
        return Decision(
            SILENCED,
            reason=f"{folded} storm-folded notification(s) held by silence #{silenced_by}",
            silence_id=silenced_by,
        )
    why = f"{folded} notification(s) were folded by the storm governor; this one sums them up"
    if incident.status == RESOLVED:
        return resolution(state, incident, settings, now, f"incident resolved; {why}")
    if not incident.active:
        state.folded, state.digest_due_at = 0, None
        return None
    return govern(state, Decision(CHANGED, notify=True, reason=why), incident, settings, now)


def on_flap_end(
    state: State,
    incident: IncidentView,
    silenced_by: int | None,
    settings: NoiseSettings,
    now: datetime,
) -> Decision | None:
    """Stable for the flap window: flapping is over; say once where it settled."""
    if state.flapping_since is None:
        return None
    if state.flap_quiet_until is not None and state.flap_quiet_until > now:
        return None
    since = state.flapping_since
    state.flapping_since = state.flap_quiet_until = None
    state.flap_changes = {}
    why = f"stable for {format_duration(settings.flap_window)} after flapping since {at(since)}"
    if silenced_by is not None:
        return Decision(SILENCED, reason=f"{why}; held by silence #{silenced_by}")
    if incident.status == RESOLVED:
        return resolution(state, incident, settings, now, f"{why}: resolved")
    if not incident.active:
        return None
    decision = Decision(CHANGED, notify=True, reason=f"{why}: still {incident.status}")
    return govern(state, decision, incident, settings, now)


def on_silence_end(
    state: State,
    incident: IncidentView,
    silence_id: int,
    ended_at: datetime,
    still_silenced_by: int | None,
    settings: NoiseSettings,
    now: datetime,
) -> Decision | None:
    """A maintenance window ended: a critical incident still firing is told once."""
    if not incident.active or incident.severity != Severity.CRITICAL.value:
        return None
    if still_silenced_by is not None:
        return None  # another silence holds it; its end will tell
    if state.last_notified_at is not None and state.last_notified_at >= ended_at:
        return None  # someone was told since the window ended
    if state.flapping_since is not None:
        return None  # flapping has its own end message
    reason = f"still firing after maintenance: silence #{silence_id} ended at {at(ended_at)}"
    decision = Decision(STILL_FIRING, notify=True, reason=reason, silence_id=silence_id)
    return govern(state, decision, incident, settings, now)
