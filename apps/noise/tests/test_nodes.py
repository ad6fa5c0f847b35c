"""How the intelligence and notify nodes act on the ingest node's noise decision, and why a
payload cannot pass itself off as a sweep's run."""

from __future__ import annotations

from typing import Any

import pytest

from apps.alerts.tests.webhook_support import post
from apps.noise.models import NoiseDecision, NoiseState
from apps.noise.sweeps import periodic_decision
from apps.noise.tests.support import MessageSink, Scenario, alert, pipeline
from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.nodes import NodeContext, get_node_handler

pytestmark = pytest.mark.django_db


def noise(kind: str, notify: bool, **extra: Any) -> dict[str, Any]:
    return {"ingest": {"noise": {"kind": kind, "notify": notify, "reason": "because", **extra}}}


def context(outputs: dict[str, Any], incident_id: int | None = None) -> NodeContext:
    return NodeContext(
        trace_id="t", run_id="r", node_id="n", incident_id=incident_id, previous_outputs=outputs
    )


def test_notify_sends_nothing_when_the_decision_says_so(sink: MessageSink) -> None:
    NotificationChannel.objects.create(
        name="s", driver="generic", config={"endpoint_url": sink.url}
    )

    result = get_node_handler("notify").execute(context(noise("silenced", False)), {"id": "n"})

    assert result.skipped
    assert result.skip_reason == "noise control: silenced: because"
    assert result.output["status"] == "suppressed"
    assert result.output["noise"]["kind"] == "silenced"
    assert sink.messages == []


def test_a_reminder_is_marked_in_title_body_and_json(sink: MessageSink) -> None:
    NotificationChannel.objects.create(
        name="s", driver="generic", config={"endpoint_url": sink.url}
    )
    outputs = noise("reminder", True, folded=4)

    result = get_node_handler("notify").execute(context(outputs), {"id": "n", "title": "Disk"})

    assert result.output["status"] == "sent"
    message = sink.messages[0]
    assert message["title"] == "[Reminder] Disk"
    assert message["message"].startswith("Why now: reminder: because")
    assert "+4 more notification(s)" in message["message"]
    assert message["context"]["noise"]["kind"] == "reminder"


def test_a_resolution_goes_only_to_the_channels_that_were_told(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.definition.config["nodes"][2]["config"] = {}  # every active channel
    scenario.definition.save()
    scenario.push(alert())  # told: "sink" only
    late = MessageSink()
    try:
        NotificationChannel.objects.create(
            name="late", driver="generic", config={"endpoint_url": late.url}
        )
        scenario.push(alert(status="resolved"))
    finally:
        late.close()

    assert sink.kinds() == ["new", "resolution"]
    assert late.messages == []


def test_intelligence_reuses_the_last_analysis_or_is_skipped_saying_why(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    state = NoiseState.objects.get()
    handler = get_node_handler("intelligence")
    config = {"id": "analyze", "provider": "local"}

    reused = handler.execute(context(noise("changed", True, reuse_analysis=True), state.pk), config)
    quiet = handler.execute(context(noise("storm-folded", False), state.pk), config)

    assert reused.output["reused"] is True
    assert reused.output["reused_from_run"] == state.analysis_run_id
    assert reused.output["provider"] == "local" and not reused.skipped
    assert quiet.skipped
    assert quiet.skip_reason == "noise control: nobody is notified (storm-folded: because)"


def test_a_body_imitating_a_sweeps_run_is_just_a_body(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    simulated.advance(hours=4)
    scenario.sweep()
    real = NoiseDecision.objects.get(kind="reminder")
    fake = {"noise_event": {"decision_id": real.pk, "kind": "reminder"}}

    assert periodic_decision(fake, "another-run", real.trace_id) is None  # another run's
    assert periodic_decision(fake, real.run_id, "another-trace") is None
    answer = post("/orchestration/pipeline/?definition=noisy", fake)
    run = PipelineRun.objects.get(run_id=answer.json()["run_id"])
    assert run.status == "failed"  # not an alert payload: the ingest node refuses it
    assert sink.kinds() == ["new", "reminder"]


def test_definitions_without_noise_keys_keep_notifying_as_before_for_non_ingest_pipelines(
    sink: MessageSink,
) -> None:
    NotificationChannel.objects.create(
        name="s", driver="generic", config={"endpoint_url": sink.url}
    )
    PipelineDefinition.objects.create(
        name="plain",
        config={"version": "1", "nodes": [{"id": "notify", "type": "notify", "config": {}}]},
    )
    for _ in range(2):
        post("/orchestration/pipeline/?definition=plain", {"job": "backup"})

    assert len(sink.messages) == 2
    assert "noise" not in sink.messages[0]["context"]
