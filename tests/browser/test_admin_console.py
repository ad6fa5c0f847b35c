"""An operator's session in the admin, in chromium: log in, read the dashboard, edit a
definition (graph, an invalid config refused next to its node, a fix that bumps the
version), run it and watch it complete, fix a failing channel and retry the run from its
failed node, acknowledge an incident, and try to edit part of a masked URL."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.alerts.models import Incident
from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition, PipelineRun
from tests.support.services import redis_url
from tests.support.sink import CountingSink
from tests.support.web import WebServer

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
ALERT = {"title": "Disk full on db-1", "severity": "critical", "fingerprint": "disk-db-1"}


def nodes(channel: str = "ops") -> list[dict[str, Any]]:
    return [
        {"id": "ingest", "type": "ingest", "config": {"driver": "generic"}},
        {"id": "summary", "type": "transform",
         "config": {"source_node": "ingest", "mapping": {"title": "incident.title"}}},
        {"id": "notify", "type": "notify", "config": {"channels": [channel]}},
    ]  # fmt: skip


@pytest.fixture
def operator() -> User:
    return User.objects.create_superuser("operator", "op@example.com", PASSWORD)


@pytest.fixture
def requests_seen(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def shot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def log_in(page: Page, server: WebServer) -> None:
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#dashboard")).to_be_visible()


def wait_status(page: Page, status: str, timeout: float = 60) -> None:
    """The run page refreshes itself while the run is open."""
    expect(page.locator("#run-status")).to_have_text(status, timeout=timeout * 1000)


def test_login_and_the_dashboard_shows_real_numbers(
    page: Page, stack: WebServer, operator: User, screenshots: Path, requests_seen: list[str]
) -> None:
    for status in ("completed", "completed", "failed"):
        PipelineRun.objects.create(
            definition_name="alerts", trace_id="t", status=status, duration_ms=120.0
        )
    Incident.objects.create(title="Disk", severity="critical", source="generic", group_key="d")
    _tick_recovery_on_the_worker()

    page.goto(f"{stack.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "wrong password")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    shot(page, screenshots, "00-login-refused")
    log_in(page, stack)

    expect(page.locator("#card-runs .figure")).to_have_text("3")
    expect(page.locator('#card-runs [data-status="failed"]')).to_have_text("1")
    expect(page.locator("#card-failures .figure")).to_have_text("33.3%")
    expect(page.locator("#p50")).to_have_text("120 ms")
    expect(page.locator('#card-incidents [data-severity="critical"]')).to_have_text("1")
    expect(page.locator("#workers-answering")).to_have_text("1")
    expect(page.locator('#queues [data-queue="nodes.notify"]')).to_have_text("0")
    expect(page.locator("#card-beat")).to_have_class(re.compile(r"\bgood\b"))
    # Styled: the admin's CSS was served (a styled header has a background colour).
    header = page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "transparent")
    shot(page, screenshots, "01-dashboard")
    assert outside(requests_seen, stack) == []


def _tick_recovery_on_the_worker() -> None:
    """What beat does every PIPELINE_RECOVERY_INTERVAL_SECONDS: the real task, on the worker."""
    from apps.monitoring.models import Heartbeat
    from apps.orchestration.tasks import recover_stalled_runs
    from workers.app import app

    app.conf.broker_url = redis_url()
    app._pool = None
    app.amqp._producer_pool = None
    recover_stalled_runs.apply_async(queue="maintenance")
    deadline = time.monotonic() + 30
    while not Heartbeat.objects.filter(name="recovery").exists():
        assert time.monotonic() < deadline, "the worker never ran the recovery task"
        time.sleep(0.2)


def test_edit_a_definition_see_its_graph_and_errors_then_run_it(
    page: Page,
    stack: WebServer,
    operator: User,
    sink: CountingSink,
    screenshots: Path,
    requests_seen: list[str],
) -> None:
    NotificationChannel.objects.create(
        name="ops", driver="generic", config={"endpoint_url": sink.url}
    )
    config = {"version": "1", "nodes": nodes()}
    definition = PipelineDefinition.objects.create(name="disk-alerts", config=config)
    log_in(page, stack)

    page.goto(f"{stack.url}/admin/orchestration/pipelinedefinition/{definition.pk}/change/")
    graph = page.locator("svg.pipeline-graph")
    expect(graph).to_be_visible()
    assert graph.locator("g.node").count() == len(config["nodes"])
    expect(graph.locator("g.node.entry")).to_have_attribute("data-node", "ingest")
    expect(page.locator(".config-editor .ace_editor")).to_be_visible()  # highlighting editor
    shot(page, screenshots, "02-definition")

    broken = json.loads(json.dumps(config))
    broken["nodes"][1]["type"] = "summarize"
    _set_editor(page, broken)
    expect(page.locator("#id_config_live")).to_contain_text("problem(s) found while typing")
    shot(page, screenshots, "03-definition-live-validation")
    page.click("input[name=_save]")
    error = page.locator('.node-error[data-node="summary"]')
    expect(error).to_contain_text("Node summary has unknown type: summarize")
    expect(graph.locator('g.node.invalid[data-node="summary"]')).to_have_count(1)
    shot(page, screenshots, "04-definition-error-at-node")
    definition.refresh_from_db()
    assert definition.version == 1

    fixed = json.loads(json.dumps(config))
    fixed["description"] = "Disk alerts to the ops channel"
    _set_editor(page, fixed)
    page.click("input[name=_continue]")
    expect(page.locator(".field-version .readonly")).to_have_text("2")
    definition.refresh_from_db()
    assert definition.version == 2

    page.click("#action-run-now")
    page.fill("#id_payload", json.dumps(ALERT))
    page.click("#start-run")
    wait_status(page, "completed")
    rows = page.locator("#timeline tr.execution")
    expect(rows).to_have_count(len(config["nodes"]))
    for node in config["nodes"]:
        expect(page.locator(f'#timeline tr.execution[data-node="{node["id"]}"]')).to_have_attribute(
            "data-status", "succeeded"
        )
    expect(page.locator("#run-header")).to_contain_text("v2")
    page.locator("#payload summary").click()
    shot(page, screenshots, "05-run-completed")
    run = PipelineRun.objects.get(definition_name="disk-alerts")
    assert run.status == "completed" and run.source == "admin"
    assert len(set(run.stage_executions.values_list("task_id", flat=True))) == 3  # Celery tasks
    assert outside(requests_seen, stack) == []


def outside(urls: list[str], server: WebServer) -> list[str]:
    """Requests that left the server: none, the editor's assets are ours (inline data: and
    blob: URLs are no requests over the network)."""
    return [u for u in urls if not u.startswith((server.url, "data:", "blob:"))]


def _set_editor(page: Page, config: dict[str, Any]) -> None:
    """Replace the editor's text, as typing would, and let it validate."""
    page.evaluate(
        "text => { const e = window.id_config_editor; e.setText(text); e.validate(); }",
        json.dumps(config, indent=2),
    )


def test_a_failed_run_is_retried_from_its_failed_node_after_the_channel_is_fixed(
    page: Page, stack: WebServer, operator: User, sink: CountingSink, screenshots: Path
) -> None:
    # 127.0.0.2 is not allow-listed (NOTIFY_ALLOWED_HOSTS=127.0.0.1): the guard refuses it.
    unlisted = sink.url.replace("127.0.0.1", "127.0.0.2")
    channel = NotificationChannel.objects.create(
        name="ops", driver="generic", config={"endpoint_url": unlisted}
    )
    definition = PipelineDefinition.objects.create(
        name="disk-alerts",
        config={"version": "1", "nodes": nodes(), "defaults": {"max_retries": 0}},
    )
    log_in(page, stack)
    page.goto(f"{stack.url}/admin/orchestration/pipelinedefinition/{definition.pk}/run/")
    page.fill("#id_payload", json.dumps(ALERT))
    page.click("#start-run")
    wait_status(page, "failed")
    expect(page.locator("#run-error")).to_contain_text("Node notify failed")
    expect(page.locator('#timeline tr.execution[data-node="notify"]')).to_have_attribute(
        "data-status", "failed"
    )
    shot(page, screenshots, "06-run-failed")
    run_page = page.url

    page.goto(f"{stack.url}/admin/notify/notificationchannel/{channel.pk}/change/")
    page.fill("#id_config", json.dumps({"endpoint_url": sink.url}))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(run_page)
    page.click("#retry-run")
    wait_status(page, "completed")
    notify_rows = page.locator('#timeline tr.execution[data-node="notify"]')
    expect(notify_rows).to_have_count(2)
    expect(notify_rows.nth(1)).to_have_attribute("data-status", "succeeded")
    expect(notify_rows.nth(1)).to_have_attribute("data-attempt", "2")
    expect(page.locator('#timeline tr.execution[data-node="ingest"]')).to_have_count(1)
    shot(page, screenshots, "07-run-retried")


def test_acknowledge_an_incident(
    page: Page, stack: WebServer, operator: User, screenshots: Path
) -> None:
    incident = Incident.objects.create(
        title="Disk full on db-1", severity="critical", source="generic", group_key="disk"
    )
    log_in(page, stack)
    page.click('#card-incidents [data-severity="critical"]')
    expect(page.locator("#result_list")).to_contain_text("Disk full on db-1")
    shot(page, screenshots, "08-incidents")
    page.click("#result_list a:has-text('Disk full on db-1')")
    page.click("#incident-acknowledge")
    expect(page.locator("#incident-status")).to_have_text("acknowledged")
    shot(page, screenshots, "09-incident-acknowledged")
    incident.refresh_from_db()
    assert incident.status == "acknowledged"


def test_editing_part_of_a_masked_url_keeps_the_secret(
    page: Page, stack: WebServer, operator: User, screenshots: Path
) -> None:
    secret = "http://127.0.0.1:8102/services/T0/B0/s3cr3t?key=k3y"
    channel = NotificationChannel.objects.create(
        name="chat", driver="generic", config={"endpoint_url": secret}
    )
    log_in(page, stack)
    page.goto(f"{stack.url}/admin/notify/notificationchannel/{channel.pk}/change/")
    shown = page.input_value("#id_config")
    assert "s3cr3t" not in shown and "http://127.0.0.1:8102/****?****" in shown

    page.fill("#id_config", shown.replace("127.0.0.1:8102", "127.0.0.1:8103"))
    page.click("input[name=_save]")

    expect(page.locator(".errorlist")).to_contain_text("Re-enter the whole value")
    shot(page, screenshots, "10-channel-masked-edit-refused")
    channel.refresh_from_db()
    assert channel.config["endpoint_url"] == secret
