"""Webhook authentication schemes: timestamped HMAC and its replay protection, the
body-only HMAC named per source, and the query-string token (off by default)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time

import pytest

from apps.alerts.tests.conftest import HMAC_SECRET, WEBHOOK_TOKEN
from apps.alerts.tests.webhook_support import ingest_only_definition, post, row_counts
from apps.alerts.webhooks.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db

GENERIC = {"title": "Backup failed", "severity": "critical", "fingerprint": "backup-1"}
RAW = json.dumps(GENERIC).encode()


@pytest.fixture(autouse=True)
def ingest_only(settings) -> None:
    # Signatures and replays are checked before noise control's change gate: keep it out.
    ingest_only_definition(on_unchanged="run")
    settings.ALERTS_DEFAULT_PIPELINE = "ingest-only"
    settings.ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 300


def body_only(body: bytes, secret: str = HMAC_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_post(path: str, raw: bytes = RAW, **headers: str):
    return post(path, raw=raw, token=None, **headers)


# --- timestamped HMAC (v1) ---------------------------------------------------------------------


def test_a_v1_signature_over_timestamp_and_body_authenticates() -> None:
    response = signed_post("/alerts/webhook/generic/", **sign(HMAC_SECRET, RAW))

    assert response.status_code == 202


def test_the_timestamp_may_travel_inside_the_signature_header() -> None:
    headers = sign(HMAC_SECRET, RAW)
    timestamp = headers.pop(TIMESTAMP_HEADER)
    headers[SIGNATURE_HEADER] = f"t={timestamp},{headers[SIGNATURE_HEADER]}"

    assert signed_post("/alerts/webhook/generic/", **headers).status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        sign(HMAC_SECRET, RAW + b" "),  # another body
        sign("other-secret", RAW),  # another secret
        {**sign(HMAC_SECRET, RAW), TIMESTAMP_HEADER: str(int(time.time()) - 1)},  # another time
        {**sign(HMAC_SECRET, RAW), SIGNATURE_HEADER: "v1=zz"},
    ],
    ids=["body", "secret", "timestamp", "garbage"],
)
def test_a_v1_signature_of_anything_else_is_401(headers) -> None:
    response = signed_post("/alerts/webhook/generic/", **headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid signature"
    assert PipelineRun.objects.count() == 0


def test_a_v1_signature_without_its_timestamp_is_401_saying_so() -> None:
    headers = sign(HMAC_SECRET, RAW)
    del headers[TIMESTAMP_HEADER]

    response = signed_post("/alerts/webhook/generic/", **headers)

    assert response.status_code == 401
    assert TIMESTAMP_HEADER in response.json()["error"]


@pytest.mark.parametrize("age", [302, -302, 86400])
def test_a_replay_outside_the_window_is_401(age: int) -> None:
    # Correctly signed, but its timestamp is too old (or too far ahead). Two seconds past the
    # 300 s window, not one: the whole-second timestamp is up to a second behind the clock,
    # which brought "301 s ahead" back to 300.0 s when the request crossed a second.
    headers = sign(HMAC_SECRET, RAW, timestamp=int(time.time()) - age)

    response = signed_post("/alerts/webhook/generic/", **headers)

    assert response.status_code == 401
    assert "outside the 300 s tolerance" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_a_replay_inside_the_window_starts_no_second_run_on_any_route() -> None:
    ingest_only_definition("other")
    headers = sign(HMAC_SECRET, RAW)

    first = signed_post("/alerts/webhook/generic/", **headers)
    replays = [
        signed_post("/alerts/webhook/generic/", **headers),
        signed_post("/alerts/webhook/generic/", **headers, **{"Idempotency-Key": "fresh-1"}),
        signed_post("/alerts/webhook/", **headers),
        signed_post("/orchestration/pipeline/?definition=other", **headers),
    ]

    assert first.status_code == 202
    for replay in replays:
        # A replay answers with the earlier run and its real status (200, "replayed").
        assert replay.status_code == 200
        assert replay.json()["replayed"] is True
        assert replay.json()["run_id"] == first.json()["run_id"]
        assert replay["Idempotent-Replayed"] == "true"
    assert PipelineRun.objects.count() == 1


def test_a_new_signature_of_the_same_body_is_a_new_delivery(settings) -> None:
    settings.ALERTS_DEDUP_WINDOW_SECONDS = 0  # only the signature identifies the delivery
    first = signed_post("/alerts/webhook/generic/", **sign(HMAC_SECRET, RAW))
    later = signed_post(
        "/alerts/webhook/generic/", **sign(HMAC_SECRET, RAW, timestamp=int(time.time()) + 1)
    )

    assert later.json()["run_id"] != first.json()["run_id"]


# --- body-only HMAC (sha256=), per source ------------------------------------------------------


def test_a_body_only_signature_is_refused_unless_its_source_is_named(settings) -> None:
    response = signed_post("/alerts/webhook/generic/", **{SIGNATURE_HEADER: body_only(RAW)})

    assert response.status_code == 401
    assert "v1=" in response.json()["error"]
    assert PipelineRun.objects.count() == 0


def test_a_body_only_signature_works_only_on_the_named_sources_path(settings) -> None:
    settings.ALERTS_WEBHOOK_BODY_HMAC_SOURCES = ["generic"]
    signature = {SIGNATURE_HEADER: body_only(RAW)}

    accepted = signed_post("/alerts/webhook/generic/", **signature)
    replay = signed_post("/alerts/webhook/generic/", **signature)
    detecting = signed_post("/alerts/webhook/", **signature)
    wrong = signed_post("/alerts/webhook/generic/", **{SIGNATURE_HEADER: body_only(RAW, "x")})

    assert accepted.status_code == 202
    assert replay.json()["run_id"] == accepted.json()["run_id"]
    assert detecting.status_code == 401
    assert wrong.status_code == 401
    assert PipelineRun.objects.count() == 1


# --- the query-string token ---------------------------------------------------------------------


def test_the_query_string_token_is_refused_by_default_saying_why() -> None:
    response = post(f"/alerts/webhook/generic/?token={WEBHOOK_TOKEN}", GENERIC, token=None)

    assert response.status_code == 401
    assert "ALERTS_WEBHOOK_QUERY_TOKEN" in response.json()["error"]


def test_the_query_string_token_is_accepted_when_enabled(settings) -> None:
    settings.ALERTS_WEBHOOK_QUERY_TOKEN = True

    good = post(f"/alerts/webhook/generic/?token={WEBHOOK_TOKEN}", GENERIC, token=None)
    bad = post("/alerts/webhook/generic/?token=nope", GENERIC, token=None)

    assert (good.status_code, bad.status_code) == (202, 401)


@pytest.fixture
def console_output():
    """What the configured console handler (LOGGING) writes, filters included."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.parametrize("enabled", [False, True])
def test_django_logs_never_contain_the_query_token(enabled: bool, settings, console_output) -> None:
    settings.ALERTS_WEBHOOK_QUERY_TOKEN = enabled
    secret = "query-secret-4f1d"
    settings.ALERTS_WEBHOOK_TOKEN = secret

    post(f"/alerts/webhook/generic/?token={secret}", GENERIC, token=None)
    post(f"/alerts/webhook/nosuchsource/?token={secret}", GENERIC, token=None)
    # What runserver logs for every request: the request line, query string included.
    logging.getLogger("django.server").warning(
        '"%s" %s %s', f"POST /alerts/webhook/generic/?a=1&token={secret} HTTP/1.1", 401, 80
    )

    output = console_output.getvalue()
    assert "token=****" in output
    assert secret not in output
