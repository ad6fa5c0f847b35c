"""The notify node: channel selection, output, retry semantics and the delivery ledger."""

from __future__ import annotations

import pytest

from apps.notify.compose import build_message
from apps.notify.models import Delivery, NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.orchestration.errors import NodeError
from apps.orchestration.nodes import NodeContext, get_node_handler

pytestmark = pytest.mark.django_db

CHECKS = {"ctx": {"checks": [{"checker": "disk", "status": "critical", "message": "95% used"}]}}


def context(run_id: str = "run-1", node_id: str = "notify") -> NodeContext:
    return NodeContext(trace_id="trace-1", run_id=run_id, node_id=node_id, previous_outputs=CHECKS)


def slack(name: str, server: RecordingServer, **extra: object) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=name, driver="slack", config={"webhook_url": f"{server.url}/{name}"}, **extra
    )


def test_sends_to_every_active_channel_when_none_is_named(http_server: RecordingServer) -> None:
    slack("ops", http_server)
    slack("old", http_server, is_active=False)
    result = get_node_handler("notify").execute(context(), {"id": "notify"})

    assert result.errors == []
    assert result.node_type == "notify"
    assert result.output == {
        "driver": None,
        "drivers": [],
        "channels_attempted": ["ops"],
        "channels_succeeded": ["ops"],
        "channels_failed": [],
        "deliveries": [{"channel": "ops", "driver": "slack", "status": "sent", "error": ""}],
        "status": "sent",
    }
    assert [r.path for r in http_server.requests] == ["/ops"]
    assert "disk: *CRITICAL* 95% used" in http_server.requests[0].json()["attachments"][0]["text"]


def test_selects_channels_by_name_and_by_driver(http_server: RecordingServer) -> None:
    slack("a", http_server)
    slack("b", http_server)
    NotificationChannel.objects.create(
        name="pd",
        driver="pagerduty",
        config={"routing_key": "R1", "events_url": http_server.url + "/pd"},
    )
    handler = get_node_handler("notify")
    handler.execute(context("r1"), {"channels": ["b"]})
    handler.execute(context("r2"), {"driver": "pagerduty"})
    assert [r.path for r in http_server.requests] == ["/b", "/pd"]
    assert http_server.requests[1].json()["dedup_key"] == "run-r2"


def test_an_inline_driver_config_is_sent_without_a_stored_channel(
    http_server: RecordingServer,
) -> None:
    config = {
        "driver": "generic",
        "driver_config": {"endpoint_url": http_server.url + "/inline"},
        "title": "Nightly check",
        "severity": "warning",
    }
    result = get_node_handler("notify").execute(context(), config)
    assert result.output["driver"] == "generic"
    assert result.output["channels_succeeded"] == ["inline:generic"]
    body = http_server.requests[0].json()
    assert (body["title"], body["severity"]) == ("Nightly check", "warning")
    assert Delivery.objects.get().channel == "inline:generic"


def test_nowhere_to_send_is_recorded_not_an_error() -> None:
    result = get_node_handler("notify").execute(context(), {})
    assert result.errors == []
    assert result.output["status"] == "no_channels"
    assert result.output["deliveries"] == []


def test_an_unknown_channel_name_is_a_permanent_error() -> None:
    result = get_node_handler("notify").execute(context(), {"channels": ["nope"]})
    assert result.errors == ["no notification channel named 'nope'"]
    assert result.output["status"] == "failed"


def test_running_the_node_twice_notifies_once(http_server: RecordingServer) -> None:
    slack("ops", http_server)
    handler = get_node_handler("notify")
    first = handler.execute(context(), {})
    second = handler.execute(context(), {})

    assert len(http_server.requests) == 1
    assert first.output["deliveries"][0]["status"] == "sent"
    assert second.output["deliveries"][0]["status"] == "already_sent"
    assert second.output["status"] == "sent"
    delivery = Delivery.objects.get()
    assert (delivery.run_id, delivery.node_id, delivery.channel) == ("run-1", "notify", "ops")
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_another_run_or_node_notifies_again(http_server: RecordingServer) -> None:
    slack("ops", http_server)
    handler = get_node_handler("notify")
    handler.execute(context("run-1", "n1"), {})
    handler.execute(context("run-1", "n2"), {})
    handler.execute(context("run-2", "n1"), {})
    assert len(http_server.requests) == 3


def test_all_channels_failing_transiently_raises_a_retryable_error(
    http_server: RecordingServer,
) -> None:
    slack("ops", http_server)
    http_server.reply(Reply(status=503))
    handler = get_node_handler("notify")
    with pytest.raises(NodeError) as exc:
        handler.execute(context(), {})
    assert exc.value.retryable is True
    assert "ops" in exc.value.message

    retried = handler.execute(context(), {})
    again = handler.execute(context(), {})
    assert retried.output["status"] == "sent"
    assert again.output["deliveries"][0]["status"] == "already_sent"
    assert len(http_server.requests) == 2
    assert Delivery.objects.get().attempts == 2


def test_a_retry_skips_channels_already_sent(http_server: RecordingServer) -> None:
    slack("a", http_server)
    slack("b", http_server)
    handler = get_node_handler("notify")
    http_server.reply(Reply(status=200), Reply(status=500))
    with pytest.raises(NodeError) as exc:
        handler.execute(context(), {})
    assert exc.value.retryable is True
    assert exc.value.message.startswith("notification channels failed: b: ")

    retried = handler.execute(context(), {})
    assert retried.output["status"] == "sent"
    assert [r.path for r in http_server.requests] == ["/a", "/b", "/b"]


def test_a_permanent_failure_is_not_retried(http_server: RecordingServer) -> None:
    slack("ops", http_server)
    http_server.reply(Reply(status=403, body="invalid_token"))
    handler = get_node_handler("notify")
    first = handler.execute(context(), {})
    assert first.output["status"] == "failed"
    assert "invalid_token" in first.errors[0]
    second = handler.execute(context(), {})
    assert second.output["status"] == "failed"
    assert len(http_server.requests) == 1


def test_a_refused_address_fails_permanently(http_server: RecordingServer, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    slack("ops", http_server)
    result = get_node_handler("notify").execute(context(), {})
    assert "OUTBOUND_ALLOWED_HOSTS" in result.errors[0]
    assert http_server.requests == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"driver": "fax"}, "Unknown driver: fax"),
        ({"drivers": "slack"}, "drivers must be a list"),
        ({"channels": "ops"}, "channels must be a list"),
        ({"driver_config": {"x": 1}}, "driver_config needs a known driver"),
        ({"driver": "slack", "driver_config": {}}, "driver_config: webhook_url is required"),
        ({"severity": "apocalyptic"}, "severity must be one of"),
    ],
)
def test_invalid_node_config_is_reported(config: dict, problem: str) -> None:
    handler = get_node_handler("notify")
    assert any(problem in e for e in handler.validate_config(config))
    result = handler.execute(context(), config)
    assert any(problem in e for e in result.errors)


def test_the_message_comes_from_the_incident_and_earlier_outputs() -> None:
    incident = {
        "id": 42,
        "title": "API latency high",
        "status": "open",
        "severity": "warning",
        "description": "p99 over 2s",
        "alerts": [{"name": "Latency", "severity": "warning"}],
    }
    outputs = {
        "ctx": {"checks": [{"checker": "cpu", "status": "ok"}]},
        "ai": {"recommendations": [{"title": "Scale out", "priority": "high"}]},
    }
    message = build_message({}, run_id="r", incident=incident, previous_outputs=outputs)
    assert (message.title, message.message, message.severity) == (
        "API latency high",
        "p99 over 2s",
        "warning",
    )
    assert message.dedup_key == "incident-42"
    assert message.context["alerts"] == [{"name": "Latency", "severity": "warning"}]
    assert message.context["recommendations"][0]["title"] == "Scale out"


def test_without_an_incident_checks_set_title_and_severity() -> None:
    message = build_message({}, run_id="r9", previous_outputs=CHECKS)
    assert (message.title, message.severity, message.dedup_key) == (
        "Health check: critical",
        "critical",
        "run-r9",
    )
    assert message.message == "1 checks: 1 critical"


def test_an_incident_id_without_a_summary_still_notifies(http_server: RecordingServer) -> None:
    # Incident 999 does not exist (or the alerts service is not installed): the
    # notification goes out with what the run has.
    slack("ops", http_server)
    ctx = context()
    ctx.incident_id = 999
    result = get_node_handler("notify").execute(ctx, {})
    assert result.output["status"] == "sent"
    assert len(http_server.requests) == 1
