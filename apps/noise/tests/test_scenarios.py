"""The issue's scenarios, end to end in one process: webhooks through Django's request
handling, runs executed in-process (ingest → analyze → notify), a real loopback receiver
counting messages, beat's sweeps called at each simulated step, and a simulated clock (no
sleeps: a day runs in seconds)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from apps.alerts.models import Alert, Incident
from apps.intelligence.tests.servers import Reply, ScriptedServer, chat_completion
from apps.noise import silences
from apps.noise.matchers import parse_all
from apps.noise.models import NoiseDecision
from apps.noise.tests.support import MessageSink, Scenario, alert, pipeline
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db


def test_a_steady_alert_repushed_every_5_minutes_for_a_day_notifies_once_reminds_every_4h_and_resolves_once(  # noqa: E501
    simulated, sink: MessageSink
) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    answers: list[int] = []

    scenario.every(
        timedelta(minutes=5),
        timedelta(hours=24),
        lambda _: answers.append(scenario.push(alert()).status_code),
    )
    resolved = scenario.push(alert(status="resolved"))
    scenario.sweep()

    assert sink.kinds() == ["new"] + ["reminder"] * 5 + ["resolution"]
    # 288 deliveries: the first started a run, the other 287 cost no run at all.
    assert answers == [202] + [200] * 287
    assert resolved.status_code == 202
    assert PipelineRun.objects.count() == 1 + 5 + 1
    # Reminders every 4 h of simulated time, each saying so in its title.
    reminders = [m for m in sink.messages if m["context"]["noise"]["kind"] == "reminder"]
    assert all(m["title"].startswith("[Reminder] ") for m in reminders)
    assert sink.messages[-1]["title"].startswith("[Resolved] ")
    # Nothing was lost: every re-push is counted on the alert and in the decision log.
    stored = Alert.objects.get()
    assert stored.seen_count == 289
    unchanged = NoiseDecision.objects.filter(stage="gate", kind="unchanged")
    assert sum(d.repeats for d in unchanged) == 287
    assert unchanged.count() == 6  # one streak between each two messages


def test_a_silence_with_a_critical_alert_still_firing_at_its_end_notifies_exactly_once_at_the_end(
    simulated, sink: MessageSink
) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    window = silences.create(
        parse_all(["host=db-1", "severity=~critical|warning"]),
        created_by="alice",
        comment="db-1 disk replacement",
        duration=timedelta(hours=2),
    )
    start = simulated.now()

    def push(elapsed: timedelta) -> None:
        if elapsed >= timedelta(minutes=10):
            assert scenario.push(alert()).status_code in (200, 202)

    scenario.every(timedelta(minutes=5), timedelta(hours=3), push)

    assert sink.kinds() == ["still-firing"]
    message = sink.messages[0]
    assert message["title"].startswith("[Still firing after maintenance] ")
    assert f"silence #{window.pk} ended" in message["context"]["noise"]["reason"]
    # Sent by the first sweep at or after the end of the window.
    run = PipelineRun.objects.get(source="noise")
    decision = NoiseDecision.objects.get(run_id=run.run_id)
    assert decision.at == start + timedelta(hours=2)
    # The alert was stored while silenced, and the run that stored it said why it was quiet.
    silenced = NoiseDecision.objects.get(stage="ingest")
    assert (silenced.kind, silenced.notify, silenced.silence_id) == ("silenced", False, window.pk)
    assert Alert.objects.get().status == "firing"


def test_a_silence_that_was_never_in_force_tells_nobody_when_it_ends(
    simulated, sink: MessageSink
) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())  # told: new
    later = silences.create(
        parse_all(["host=db-1"]),
        created_by="alice",
        comment="tonight",
        starts_at=simulated.now() + timedelta(hours=6),
        duration=timedelta(hours=1),
    )
    silences.expire(later)  # called off before it began
    scenario.sweep()

    assert sink.kinds() == ["new"]


def test_a_silence_holds_only_what_it_matches(simulated, sink: MessageSink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    silences.create(
        parse_all(["host=db-1"]), created_by="alice", comment="db-1", duration=timedelta(hours=1)
    )

    scenario.push(alert())  # db-1: held
    scenario.push(alert("cpu-web-2", title="CPU on web-2", labels={"host": "web-2"}))

    assert len(sink.messages) == 1
    assert sink.messages[0]["title"] == "CPU on web-2"


def test_a_flapping_alert_sends_one_flapping_message_then_stays_quiet_until_stable(
    simulated, sink: MessageSink
) -> None:
    scenario = Scenario(
        simulated, sink, pipeline(noise={"flap_threshold": 4, "flap_window": "30m"})
    )

    def flap(elapsed: timedelta) -> None:
        if elapsed < timedelta(minutes=40):  # firing, resolved, firing, ... every 2 minutes
            firing = (elapsed // timedelta(minutes=2)) % 2 == 0
            scenario.push(alert(status="firing" if firing else "resolved"))
        else:
            scenario.push(alert())  # then steadily firing

    scenario.every(timedelta(minutes=2), timedelta(hours=2), flap)

    kinds = sink.kinds()
    # Told about the first changes, then once that it flaps, then once that it settled.
    assert kinds == ["new", "resolution", "new", "resolution", "new", "flapping", "changed"]
    flapping = sink.messages[5]
    assert flapping["title"].startswith("[Flapping] ")
    assert "changed state 5 times in 30m" in flapping["context"]["noise"]["reason"]
    settled = sink.messages[6]["context"]["noise"]["reason"]
    assert settled.startswith("stable for 30m after flapping since")
    # Quiet in between: every change during the flapping was decided and logged, not sent.
    held = NoiseDecision.objects.filter(kind="flapping", notify=False)
    assert held.count() >= 10


def test_a_storm_of_1000_alerts_in_one_group_sends_at_most_the_limit_and_one_ai_analysis(
    simulated, sink: MessageSink
) -> None:
    reply = {"summary": "Storage cluster down", "recommendations": [
        {"type": "storage", "priority": "high", "title": "Check the SAN", "description": "x"}
    ]}  # fmt: skip
    ai = ScriptedServer(replies=[Reply(body=chat_completion(json.dumps(reply)))] * 3)
    try:
        analyze = {
            "provider": "openai",
            "provider_config": {"api_key": "sk-test-0123456789", "base_url": f"{ai.url}/v1"},
        }
        scenario = Scenario(
            simulated,
            sink,
            pipeline(analyze=analyze, noise={"max_notifications_per_minute": 3}),
        )
        for i in range(1000):
            answer = scenario.push(
                alert(f"vol-{i}", title=f"Volume {i} offline", group_key="san-1", labels={})
            )
            assert answer.status_code == 202
            simulated.advance(milliseconds=50)  # 1,000 alerts in 50 s
        storm = list(sink.messages)
        simulated.advance(seconds=30)
        scenario.sweep()  # the governor lets one through again: the digest
        requests = len(ai.requests)
    finally:
        ai.close()

    assert Incident.objects.count() == 1
    assert [m["context"]["noise"]["kind"] for m in storm] == ["new", "changed", "changed"]
    assert requests == 1  # one AI analysis for the whole storm
    digest = sink.messages[-1]
    assert len(sink.messages) == 4
    assert digest["context"]["noise"]["folded"] == 997
    assert "+997 more notification(s)" in digest["message"]
    # Every notification carried the one analysis.
    assert all(
        m["context"]["recommendations"][0]["title"] == "Check the SAN" for m in sink.messages
    )
