"""Hostile webhook input from issue 8 that used to answer 500: NUL in query parameters and
paths, JSON nested just deep enough to parse but not to store, and chunked bodies."""

from __future__ import annotations

import json

import pytest

from apps.alerts.tests.webhook_support import ingest_only_definition, post, post_chunked, row_counts
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db

GENERIC = {"title": "Backup failed", "severity": "critical", "fingerprint": "backup-1"}


@pytest.fixture(autouse=True)
def ingest_only(settings) -> None:
    ingest_only_definition()
    settings.ALERTS_DEFAULT_PIPELINE = "ingest-only"


@pytest.mark.parametrize(
    "path",
    [
        "/alerts/webhook/generic/?definition=%00",
        "/alerts/webhook/?definition=ingest%00only",
        "/orchestration/pipeline/?definition=%00",
        "/orchestration/pipeline/?source=a%00b",
        "/orchestration/pipeline/?source=a%0Ab",
    ],
)
def test_control_characters_in_query_parameters_are_400(path: str) -> None:
    response = post(path, GENERIC)

    assert response.status_code == 400
    assert "must not contain control characters" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_nul_in_the_source_path_is_404_not_500() -> None:
    response = post("/alerts/webhook/a%00b/", GENERIC)

    assert response.status_code == 404


def nested(depth: int) -> bytes:
    """An alert whose description is ``depth - 1`` levels of arrays (depth counts the
    outer object)."""
    return b'{"title": "deep", "fingerprint": "deep", "description": ' + (
        b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    )


@pytest.mark.parametrize("depth", [65, 930, 940, 947, 960, 5000])
def test_json_nested_deeper_than_the_limit_is_400(depth: int) -> None:
    response = post("/alerts/webhook/generic/", raw=nested(depth))

    assert response.status_code == 400
    assert "nested" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


@pytest.mark.parametrize("depth", [1, 2, 64])
def test_json_within_the_depth_limit_is_stored(depth: int) -> None:
    response = post("/alerts/webhook/generic/", raw=nested(depth) if depth > 1 else b"{}")

    assert response.status_code in (202, 422)  # {} is no generic alert; nesting is fine
    if depth > 1:
        assert PipelineRun.objects.filter(run_id=response.json()["run_id"]).exists()


def test_the_depth_limit_is_a_setting(settings) -> None:
    settings.ALERTS_MAX_JSON_DEPTH = 3

    assert post("/alerts/webhook/generic/", raw=nested(3)).status_code == 202
    response = post("/alerts/webhook/generic/", raw=nested(4))
    assert response.status_code == 400
    assert "ALERTS_MAX_JSON_DEPTH" in response.json()["error"]


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "x\\u0000y"}', b'{"x\\u0000": 1, "title": "t"}', b'{"a": [{"b": "\\u0000"}]}'],
)
def test_nul_anywhere_in_the_body_is_refused_not_stripped(raw: bytes) -> None:
    for path in ("/alerts/webhook/generic/", "/orchestration/pipeline/"):
        response = post(path, raw=raw)
        assert response.status_code == 400
        assert "NUL" in response.json()["error"]
    assert row_counts() == (0, 0, 0)


def test_a_chunked_body_is_read_and_accepted() -> None:
    response = post_chunked("/alerts/webhook/generic/", json.dumps(GENERIC).encode())

    assert response.status_code == 202
    run = PipelineRun.objects.get(run_id=response.json()["run_id"])
    assert run.payload == GENERIC


def test_a_chunked_body_over_the_limit_is_413(settings) -> None:
    settings.ALERTS_MAX_BODY_BYTES = 64

    response = post_chunked(
        "/alerts/webhook/generic/", json.dumps({**GENERIC, "description": "x" * 500}).encode()
    )

    assert response.status_code == 413
    assert row_counts() == (0, 0, 0)
