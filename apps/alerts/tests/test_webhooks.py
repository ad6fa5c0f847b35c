"""The webhook endpoints: what each kind of request is answered, and what it leaves behind."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, connection
from django.test import Client

from apps.alerts.drivers import DRIVER_REGISTRY
from apps.alerts.models import Alert
from apps.alerts.tests.conftest import WEBHOOK_TOKEN
from apps.alerts.tests.support import load_fixture
from apps.alerts.tests.webhook_support import ingest_only_definition, post, row_counts
from apps.orchestration.models import PipelineDefinition, PipelineRun

pytestmark = pytest.mark.django_db

GENERIC = {"title": "Backup failed", "severity": "critical", "fingerprint": "backup-1"}


# --- 202: accepted -------------------------------------------------------------------------


def test_an_alert_is_queued_and_its_run_completes_in_process_without_a_broker() -> None:
    response = post("/alerts/webhook/generic/", GENERIC)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"/orchestration/runs/{body['run_id']}/"
    run = PipelineRun.objects.get(run_id=body["run_id"])
    assert run.trace_id == body["trace_id"]
    assert run.source == "generic"
    assert run.payload == GENERIC
    assert run.definition_name == "default-alert-pipeline"
    # Embedded mode: the default pipeline ran here; notify had nowhere to send.
    assert run.status == "completed"
    notify = run.stage_executions.get(node_id="notify")
    assert "no_channels" in json.dumps(notify.output_snapshot)
    assert Alert.objects.get().fingerprint == "backup-1"


def test_the_detecting_path_runs_the_pipeline_with_the_detected_source() -> None:
    response = post("/alerts/webhook/", load_fixture("alertmanager", "firing"))

    assert response.status_code == 202
    assert PipelineRun.objects.get(run_id=response.json()["run_id"]).source == "alertmanager"


def test_a_source_path_is_case_insensitive() -> None:
    assert post("/alerts/webhook/Generic/", GENERIC).status_code == 202


def test_the_pipeline_path_runs_the_named_definition_with_the_given_source() -> None:
    ingest_only_definition("mine")

    response = post("/orchestration/pipeline/?definition=mine&source=cron", {"title": "x"})

    assert response.status_code == 202
    run = PipelineRun.objects.get(run_id=response.json()["run_id"])
    assert (run.definition_name, run.source) == ("mine", "cron")


def test_the_pipeline_path_accepts_an_empty_body_and_defaults_its_source() -> None:
    ingest_only_definition("mine")

    response = post("/orchestration/pipeline/?definition=mine", raw=b"")

    assert response.status_code == 202
    run = PipelineRun.objects.get(run_id=response.json()["run_id"])
    assert (run.payload, run.source) == ({}, "webhook")


def test_a_source_default_pipeline_is_used_when_the_request_names_none(settings) -> None:
    ingest_only_definition("grafana-pipeline")
    settings.ALERTS_SOURCE_PIPELINES = {"grafana": "grafana-pipeline"}

    response = post("/alerts/webhook/grafana/", load_fixture("grafana", "firing"))

    assert response.status_code == 202
    run = PipelineRun.objects.get(run_id=response.json()["run_id"])
    assert run.definition_name == "grafana-pipeline"


# --- 200: events we deliberately ignore -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "source", "event"),
    [
        ("/alerts/webhook/pagerduty/", "pagerduty", "incident_annotated"),
        ("/alerts/webhook/opsgenie/", "opsgenie", "add_note"),
        ("/alerts/webhook/", "zabbix", "commented"),
    ],
)
def test_an_ignored_event_is_answered_2xx_and_starts_no_run(path, source, event) -> None:
    response = post(path, load_fixture(source, event))

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert response.json()["source"] == source
    assert row_counts() == (0, 0, 0)


# --- 400: malformed bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "empty body"),
        (b"[1, 2]", "must be a JSON object, got list"),
        (b'"text"', "must be a JSON object, got str"),
        (b'{"title": NaN}', "NaN is not a JSON number"),
        (b'{"title": 1e999}', "out of range"),
        (b'{"title": "a\\u0000b"}', "NUL"),
        (b'{"title": "\\ud800"}', "unpaired surrogates"),
        (b'{"title": "caf\xe9"}', "not UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_a_malformed_body_is_400_with_the_reason(raw, message) -> None:
    response = post("/alerts/webhook/generic/", raw=raw)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_the_pipeline_path_refuses_a_body_that_is_not_an_object() -> None:
    response = post("/orchestration/pipeline/", raw=b"[]")

    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_an_overlong_idempotency_key_is_400() -> None:
    response = post("/alerts/webhook/generic/", GENERIC, **{"Idempotency-Key": "k" * 300})

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]


def test_other_methods_are_405_in_json() -> None:
    response = Client().get("/alerts/webhook/generic/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["error"]


# --- 401: authentication (the schemes in detail: test_webhook_auth.py) ----------------------------


def test_a_request_without_credentials_is_401_saying_how_to_authenticate() -> None:
    response = post("/alerts/webhook/generic/", GENERIC, token=None)

    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"X-Webhook-Token": "wrong"},
        {"Authorization": f"Basic {WEBHOOK_TOKEN}"},
    ],
)
def test_a_wrong_token_is_401(headers) -> None:
    response = post("/alerts/webhook/generic/", GENERIC, token=None, **headers)

    assert response.status_code == 401
    assert row_counts() == (0, 0, 0)


def test_the_token_is_accepted_in_the_x_webhook_token_header() -> None:
    response = post(
        "/alerts/webhook/generic/", GENERIC, token=None, **{"X-Webhook-Token": WEBHOOK_TOKEN}
    )

    assert response.status_code == 202


def test_with_no_token_or_secret_configured_every_webhook_is_refused(settings) -> None:
    settings.ALERTS_WEBHOOK_TOKEN = ""
    settings.ALERTS_WEBHOOK_HMAC_SECRET = ""

    response = post("/alerts/webhook/generic/", GENERIC, token="")

    assert response.status_code == 401
    assert "set ALERTS_WEBHOOK_TOKEN" in response.json()["error"]


def test_a_per_source_token_replaces_the_shared_one_on_that_source_only(monkeypatch) -> None:
    monkeypatch.setenv("ALERTS_WEBHOOK_TOKEN_GENERIC", "generic-only")

    assert post("/alerts/webhook/generic/", GENERIC, token="generic-only").status_code == 202
    assert post("/alerts/webhook/generic/", GENERIC).status_code == 401
    assert post("/alerts/webhook/grafana/", {}, token="generic-only").status_code == 401


# --- 404: unknown source path or definition ----------------------------------------------------


def test_an_unknown_source_path_is_404_listing_the_known_sources() -> None:
    response = post("/alerts/webhook/nagios/", GENERIC)

    assert response.status_code == 404
    assert response.json()["known_sources"] == list(DRIVER_REGISTRY)


@pytest.mark.parametrize("path", ["/alerts/webhook/generic/", "/orchestration/pipeline/"])
def test_an_unknown_or_inactive_definition_is_404(path) -> None:
    PipelineDefinition.objects.create(name="off", config={"version": "1.0"}, is_active=False)

    for name in ("missing", "off"):
        response = post(f"{path}?definition={name}", GENERIC)
        assert response.status_code == 404
        assert name in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_a_configured_default_pipeline_that_does_not_exist_is_404(settings) -> None:
    settings.ALERTS_DEFAULT_PIPELINE = "gone"

    response = post("/alerts/webhook/generic/", GENERIC)

    assert response.status_code == 404
    assert "gone" in response.json()["error"]


def test_an_invalid_definition_is_422_listing_its_errors() -> None:
    PipelineDefinition.objects.create(name="broken", config={"version": "1.0", "nodes": []})

    response = post("/alerts/webhook/generic/?definition=broken", GENERIC)

    assert response.status_code == 422
    assert response.json()["errors"]
    assert row_counts() == (0, 0, 0)


# --- 413: oversized bodies ---------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(settings) -> None:
    settings.ALERTS_MAX_BODY_BYTES = 64

    response = post("/alerts/webhook/generic/", {**GENERIC, "description": "x" * 100})

    assert response.status_code == 413
    assert "ALERTS_MAX_BODY_BYTES" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(settings) -> None:
    settings.ALERTS_MAX_BODY_BYTES = 64

    response = Client().post(
        "/alerts/webhook/generic/", data=b"{}", content_type="application/json",
        CONTENT_LENGTH="100000", headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )  # fmt: skip

    assert response.status_code == 413


# --- 422: nothing recognises the payload -------------------------------------------------------


def test_a_payload_no_source_recognises_is_422_with_why() -> None:
    response = post("/alerts/webhook/", {"hello": "world"})

    assert response.status_code == 422
    assert "no alert source recognises" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_a_payload_not_in_the_named_sources_format_is_422() -> None:
    response = post("/alerts/webhook/alertmanager/", GENERIC)

    assert response.status_code == 422
    assert response.json()["source"] == "alertmanager"


# --- 429: rate limit ---------------------------------------------------------------------------


def test_a_source_over_its_rate_limit_is_429_with_retry_after(settings) -> None:
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 2
    for i in range(2):
        assert (
            post("/alerts/webhook/generic/", {**GENERIC, "fingerprint": f"f{i}"}).status_code == 202
        )

    response = post("/alerts/webhook/generic/", {**GENERIC, "fingerprint": "f3"})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert PipelineRun.objects.count() == 2
    # Another source has its own budget.
    assert post("/alerts/webhook/", load_fixture("alertmanager", "firing")).status_code == 202


# --- 503: database down ------------------------------------------------------------------------


def test_a_database_error_is_503_with_retry_after() -> None:
    def unavailable(execute, sql, params, many, context):
        raise OperationalError("connection to server at 127.0.0.1:1 refused")

    with connection.execute_wrapper(unavailable):
        response = post("/alerts/webhook/generic/", GENERIC)

    assert response.status_code == 503
    assert response["Retry-After"]
    assert "database unavailable" in response.json()["error"]
    assert row_counts() == (0, 0, 0)
