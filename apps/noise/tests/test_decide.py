"""The decision rules on their own: a state, an event and a time in, a decision out."""

from __future__ import annotations

from datetime import timedelta

from apps.noise import decide, periodic
from apps.noise.config import NoiseSettings
from apps.noise.decide import AlertChange, IncidentView, State
from apps.noise.tests.support import START

OPEN = IncidentView("open", "critical")
RESOLVED = IncidentView("resolved", "critical")
DEFAULTS = NoiseSettings()


def fired(fp: str = "a", severity: str = "critical", **kw) -> AlertChange:
    return AlertChange(fp, f"alert {fp}", "firing", severity, **kw)


def again(fp: str = "a", **kw) -> AlertChange:
    return AlertChange(fp, f"alert {fp}", "firing", "critical", "firing", "critical", **kw)


def resolved(fp: str = "a") -> AlertChange:
    return AlertChange(fp, f"alert {fp}", "resolved", "critical", "firing", "critical")


def refired(fp: str = "a") -> AlertChange:
    return AlertChange(fp, f"alert {fp}", "firing", "critical", "resolved", "critical")


def test_a_new_firing_alert_is_a_new_incident_that_notifies_and_is_analysed() -> None:
    state = State()
    decision = decide.on_delivery(state, [fired()], OPEN, DEFAULTS, START)

    assert (decision.kind, decision.notify, decision.analyze) == ("new", True, True)
    assert decision.reason == "new incident: new alert alert a (critical)"
    assert state.told and state.last_notified_at == START
    assert state.next_reminder_at == START + timedelta(hours=4)


def test_a_repeat_with_the_same_status_and_severity_is_unchanged() -> None:
    state = State(told=True, incident_status="open")
    decision = decide.on_delivery(state, [again(), again("b")], OPEN, DEFAULTS, START)

    assert (decision.kind, decision.notify) == ("unchanged", False)
    assert "2 alert(s) re-sent" in decision.reason


def test_an_acknowledgement_is_stored_but_not_material() -> None:
    state = State(told=True, incident_status="open")
    decision = decide.on_delivery(state, [again(event="acknowledged")], OPEN, DEFAULTS, START)

    assert decision.kind == "unchanged"
    assert decision.reason.endswith("(acknowledged by the source)")


def test_an_escalation_notifies_but_a_de_escalation_does_not() -> None:
    state = State(told=True, incident_status="open")
    up = AlertChange("a", "a", "firing", "critical", "firing", "warning")
    down = AlertChange("a", "a", "firing", "warning", "firing", "critical")

    assert decide.on_delivery(state, [up], OPEN, DEFAULTS, START).kind == "changed"
    later = START + timedelta(minutes=5)
    assert decide.on_delivery(state, [down], OPEN, DEFAULTS, later).kind == "unchanged"


def test_a_resolution_tells_only_when_someone_was_told() -> None:
    told = State(told=True, incident_status="open")
    untold = State(incident_status="open")

    sent = decide.on_delivery(told, [resolved()], RESOLVED, DEFAULTS, START)
    quiet = decide.on_delivery(untold, [resolved()], RESOLVED, DEFAULTS, START)

    assert (sent.kind, sent.notify, sent.analyze) == ("resolution", True, False)
    assert told.next_reminder_at is None
    assert (quiet.kind, quiet.notify) == ("resolution", False)
    assert "nobody was told" in quiet.reason


def test_resolutions_can_be_turned_off_or_analysed() -> None:
    off = NoiseSettings(notify_resolved=False)
    analysed = NoiseSettings(analyze_resolved=True)

    assert not decide.on_delivery(State(told=True), [resolved()], RESOLVED, off, START).notify
    decision = decide.on_delivery(State(told=True), [resolved()], RESOLVED, analysed, START)
    assert decision.notify and decision.analyze


def test_a_silenced_change_notifies_no_one_and_remembers_to_remind() -> None:
    state = State()
    decision = decide.on_delivery(state, [fired(silenced_by=7)], OPEN, DEFAULTS, START)

    assert (decision.kind, decision.notify, decision.silence_id) == ("silenced", False, 7)
    assert not state.told
    assert state.next_reminder_at == START + timedelta(hours=4)


def test_a_change_not_every_alert_of_which_is_silenced_notifies() -> None:
    changes = [fired("a", silenced_by=7), fired("b")]
    assert decide.on_delivery(State(), changes, OPEN, DEFAULTS, START).kind == "new"


def test_more_state_changes_than_the_threshold_in_the_window_is_flapping_once() -> None:
    settings = NoiseSettings(flap_threshold=2, flap_window=timedelta(minutes=10))
    state = State(told=True, incident_status="open")
    kinds = []
    for i, change in enumerate([resolved(), refired(), resolved(), refired(), resolved()]):
        view = RESOLVED if change.status == "resolved" else OPEN
        moment = START + timedelta(minutes=i)
        decision = decide.on_delivery(state, [change], view, settings, moment)
        kinds.append((decision.kind, decision.notify))

    assert kinds == [
        ("resolution", True),
        ("new", True),
        ("flapping", True),
        ("flapping", False),
        ("flapping", False),
    ]
    assert state.flap_quiet_until == START + timedelta(minutes=4 + 10)


def test_flapping_ends_after_a_quiet_window_with_one_message_saying_where_it_settled() -> None:
    settings = NoiseSettings(flap_window=timedelta(minutes=10))
    quiet_until = START + timedelta(minutes=10)
    state = State(told=True, flapping_since=START, flap_quiet_until=quiet_until)

    early = periodic.on_flap_end(state, OPEN, None, settings, quiet_until - timedelta(seconds=1))
    settled = periodic.on_flap_end(state, OPEN, None, settings, quiet_until)

    assert early is None
    assert (settled.kind, settled.notify) == ("changed", True)
    assert settled.reason.startswith("stable for 10m after flapping since")
    assert state.flapping_since is None


def test_the_storm_governor_folds_past_the_limit_and_the_digest_sums_them_up() -> None:
    settings = NoiseSettings(max_notifications_per_minute=2)
    state = State(told=True, incident_status="open")
    kinds = [
        decide.on_delivery(state, [fired(str(i))], OPEN, settings, START).kind for i in range(5)
    ]

    assert kinds == ["changed", "changed", "storm-folded", "storm-folded", "storm-folded"]
    assert state.folded == 3
    assert state.digest_due_at == START + timedelta(minutes=1)
    assert periodic.on_digest(state, OPEN, None, settings, START + timedelta(seconds=59)) is None
    digest = periodic.on_digest(state, OPEN, None, settings, START + timedelta(minutes=1))
    assert (digest.kind, digest.notify, digest.folded) == ("changed", True, 3)
    assert state.folded == 0


def test_one_analysis_per_cooldown_later_notifications_reuse_it() -> None:
    settings = NoiseSettings(analysis_cooldown=timedelta(minutes=15))
    state = State()
    first = decide.on_delivery(state, [fired("a")], OPEN, settings, START)
    second = decide.on_delivery(state, [fired("b")], OPEN, settings, START + timedelta(minutes=5))
    third = decide.on_delivery(state, [fired("c")], OPEN, settings, START + timedelta(minutes=15))

    assert (first.analyze, first.reuse_analysis) == (True, False)
    assert (second.analyze, second.reuse_analysis) == (False, True)
    assert (third.analyze, third.reuse_analysis) == (True, False)


def test_a_reminder_comes_due_after_the_repeat_interval_and_moves_on() -> None:
    state = State(told=True, last_notified_at=START, next_reminder_at=START + timedelta(hours=4))

    assert periodic.on_reminder(state, OPEN, None, DEFAULTS, START + timedelta(hours=3)) is None
    due = START + timedelta(hours=4)
    reminder = periodic.on_reminder(state, OPEN, None, DEFAULTS, due)
    assert (reminder.kind, reminder.notify) == ("reminder", True)
    assert state.next_reminder_at == due + timedelta(hours=4)


def test_a_reminder_is_held_by_a_silence_or_by_flapping_and_stops_when_resolved() -> None:
    due = START + timedelta(hours=4)
    held = periodic.on_reminder(State(next_reminder_at=due), OPEN, 3, DEFAULTS, due)
    flapping = State(next_reminder_at=due, flapping_since=START)
    over = State(next_reminder_at=due)

    assert (held.kind, held.notify, held.silence_id) == ("silenced", False, 3)
    assert periodic.on_reminder(flapping, OPEN, None, DEFAULTS, due).kind == "flapping"
    assert periodic.on_reminder(over, RESOLVED, None, DEFAULTS, due) is None
    assert over.next_reminder_at is None


def test_an_acknowledged_incident_is_not_reminded_until_unacknowledged() -> None:
    due = START + timedelta(hours=4)
    state = State(told=True, next_reminder_at=due)

    held = periodic.on_reminder(
        state, IncidentView("acknowledged", "critical"), None, DEFAULTS, due
    )
    later = due + timedelta(hours=4)
    resumed = periodic.on_reminder(state, OPEN, None, DEFAULTS, later)

    assert (held.kind, held.notify) == ("reminder", False)
    assert held.reason == "reminder held: the incident is acknowledged"
    assert (resumed.kind, resumed.notify) == ("reminder", True)


def test_a_zero_repeat_interval_sends_no_reminders() -> None:
    state = State()
    decide.on_delivery(state, [fired()], OPEN, NoiseSettings(repeat_interval=timedelta(0)), START)
    assert state.next_reminder_at is None


def test_the_end_of_a_silence_tells_a_critical_incident_once_unless_told_since() -> None:
    ended = START + timedelta(hours=2)

    def end(state: State, incident: IncidentView = OPEN, still: int | None = None):
        return periodic.on_silence_end(state, incident, 9, ended, still, DEFAULTS, ended)

    told_since = State(last_notified_at=ended + timedelta(seconds=1))
    assert end(State()).kind == "still-firing"
    assert end(State(), IncidentView("open", "warning")) is None
    assert end(State(), still=4) is None
    assert end(told_since) is None
    assert end(State(), RESOLVED) is None


def test_decision_in_reads_the_latest_ingest_output() -> None:
    outputs = {
        "ingest": {"noise": {"kind": "new", "notify": True}},
        "other": {"noise": "not a decision"},
        "ingest2": {"noise": {"kind": "unchanged", "notify": False}},
    }
    assert decide.decision_in(outputs) == {"kind": "unchanged", "notify": False}
    assert decide.decision_in({"ingest": {"alerts_created": 1}}) is None
