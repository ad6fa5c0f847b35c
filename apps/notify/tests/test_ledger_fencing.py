"""The delivery ledger under the interleavings that used to duplicate or lose notifications:
a receiver slower than the HTTP timeout, a send whose worker died before recording it, a
stale sender recording after its claim moved on, a time limit striking mid-send."""

from __future__ import annotations

from typing import Any

import pytest

from apps.notify import ledger
from apps.notify.models import Delivery, DeliveryStatus, NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply
from apps.orchestration import engine
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.engine.runner import InlineRunner
from apps.orchestration.models import PipelineDefinition, RunStatus, StageExecution

pytestmark = pytest.mark.django_db


def generic(name: str, server: RecordingServer) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=name, driver="generic", config={"endpoint_url": f"{server.url}/{name}"}
    )


def notify_pipeline(name: str = "notify-only", **defaults: Any) -> PipelineDefinition:
    config: dict[str, Any] = {
        "version": "1.0",
        "nodes": [{"id": "notify", "type": "notify", "config": {"channels": ["hook"]}}],
        "defaults": {"retry_backoff_seconds": 0, **defaults},
    }
    return PipelineDefinition.objects.create(name=name, config=config)


def keys(server: RecordingServer) -> list[str]:
    return [r.headers.get("Idempotency-Key", "") for r in server.requests]


def test_a_receiver_slower_than_the_timeout_gets_one_resend_with_the_same_key(
    http_server: RecordingServer, settings
) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    http_server.default = Reply(delay=1.0)  # it works, but answers after we stop waiting
    generic("hook", http_server)
    result = DefinitionBasedOrchestrator(notify_pipeline(max_retries=3)).execute(source="test")

    # Sent, unknown; resent once with the same key, unknown again; then not flooded further.
    assert len(http_server.requests) == 2
    assert keys(http_server)[0] == keys(http_server)[1] != ""
    row = Delivery.objects.get(channel="hook")
    assert (row.status, row.attempts) == (DeliveryStatus.UNKNOWN, 2)
    assert row.idempotency_key == keys(http_server)[0]
    # The run says exactly what happened instead of claiming success or a clean failure.
    assert result["status"] == RunStatus.FAILED
    node = result["node_results"]["notify"]
    assert node["output"]["deliveries"][0]["status"] == "unknown"
    assert "sent 2 times with the same idempotency key, not sent again" in result["error"]


def test_a_send_whose_worker_died_before_recording_it_is_resent_once_with_the_same_key(
    http_server: RecordingServer,
) -> None:
    generic("hook", http_server)
    pipeline = notify_pipeline()
    run = DefinitionBasedOrchestrator(pipeline)._create(
        None, "test", None, "test", None, InlineRunner()
    )
    # The first worker claimed the delivery, sent, and was killed before mark_sent: its
    # token is gone (the engine took its execution over), the row says pending.
    ledger.claim(run.run_id, "notify", "hook", "generic", owner="dead-token", node_timeout=300)

    engine.process_node(run.run_id, "notify", 1, InlineRunner(worker="second"))

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED  # not failed as "being sent by another attempt"
    row = Delivery.objects.get(channel="hook")
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert keys(http_server) == [row.idempotency_key]


def test_a_pending_delivery_of_a_live_execution_is_left_to_it(http_server: RecordingServer):
    generic("hook", http_server)
    pipeline = notify_pipeline()
    run = DefinitionBasedOrchestrator(pipeline)._create(
        None, "test", None, "test", None, InlineRunner()
    )
    # A live execution (its token is on a running row) is sending right now.
    from apps.orchestration.engine.claim import claim

    live = claim(run.run_id, "notify", 1, InlineRunner(worker="live"))
    assert live is not None
    first = ledger.claim(
        run.run_id, "notify", "hook", "generic", owner=live.token, node_timeout=300
    )
    second = ledger.claim(run.run_id, "notify", "hook", "generic", owner="other", node_timeout=300)
    assert first.owned and not second.owned
    assert second.reason == "being sent by another attempt"


def test_a_stale_sender_cannot_record_after_its_claim_moved_on() -> None:
    stale = ledger.claim("run-x", "notify", "hook", "generic", owner="stale", node_timeout=300)
    # "stale" holds no engine claim (it was taken over): another attempt claims the row.
    fresh = ledger.claim("run-x", "notify", "hook", "generic", owner="fresh", node_timeout=300)
    assert fresh.owned

    assert not ledger.mark_sent(stale.delivery, {"status_code": 200}, owner="stale")
    assert not ledger.mark_failed(stale.delivery, "boom", retryable=False, owner="stale")
    row = Delivery.objects.get(run_id="run-x")
    assert (row.status, row.owner, row.attempts) == (DeliveryStatus.PENDING, "fresh", 2)

    assert ledger.mark_sent(fresh.delivery, {"status_code": 200}, owner="fresh")
    assert Delivery.objects.get(run_id="run-x").status == DeliveryStatus.SENT


def test_a_time_limit_striking_mid_send_is_recorded_as_unknown_not_as_permanent(
    http_server: RecordingServer, settings
) -> None:
    settings.NOTIFY_HTTP_TIMEOUT = 10
    http_server.default = Reply(delay=2.0)
    generic("hook", http_server)
    # The node's own timeout (SIGALRM in-process, the soft limit on a worker) hits inside
    # the HTTP call; the retry may resend once, with the same key.
    pipeline = notify_pipeline(max_retries=1, timeout_seconds=0.5)
    DefinitionBasedOrchestrator(pipeline).execute(source="test")

    row = Delivery.objects.get(channel="hook")
    assert row.status == DeliveryStatus.UNKNOWN
    assert row.error.startswith("interrupted mid-send: NodeTimeoutError")
    attempts = StageExecution.objects.filter(node_id="notify").order_by("attempt")
    assert [a.error_type for a in attempts] == ["NodeTimeoutError", "NodeTimeoutError"]
    assert len(http_server.requests) == 2 and len(set(keys(http_server))) == 1


def test_an_operator_retry_reopens_a_permanently_failed_channel(http_server: RecordingServer):
    generic("hook", http_server)
    http_server.reply(Reply(status=400, body="bad"))  # fails for good the first time
    pipeline = notify_pipeline()
    result = DefinitionBasedOrchestrator(pipeline).execute(source="test")
    assert result["status"] == RunStatus.FAILED

    from apps.orchestration.engine.control import retry_run

    run = retry_run(result["run_id"], runner=InlineRunner())
    assert run.status == RunStatus.COMPLETED
    assert len(http_server.requests) == 2
    assert Delivery.objects.get(channel="hook").status == DeliveryStatus.SENT
