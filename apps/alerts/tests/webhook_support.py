"""Posting to the webhooks the way monitoring systems do, for the webhook tests."""

from __future__ import annotations

import io
import json
from typing import Any

from django.test import Client
from django.test.client import Client as ClientType

from apps.alerts.models import Alert, WebhookDelivery
from apps.alerts.tests.conftest import WEBHOOK_TOKEN
from apps.orchestration.models import PipelineDefinition, PipelineRun

INGEST_ONLY = {"version": "1.0", "nodes": [{"id": "ingest", "type": "ingest", "config": {}}]}


def post(
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = WEBHOOK_TOKEN,
    client: ClientType | None = None,
    **headers: str,
):
    """POST ``body`` as JSON (or ``raw`` bytes) with the bearer token unless told otherwise."""
    data = raw if raw is not None else json.dumps(body).encode()
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return (client or Client()).post(
        path, data=data, content_type="application/json", headers=headers
    )


def post_chunked(path: str, raw: bytes, *, token: str | None = WEBHOOK_TOKEN, **headers: str):
    """POST ``raw`` the way gunicorn presents a chunked request: ``Transfer-Encoding:
    chunked``, no Content-Length, the decoded body readable from ``wsgi.input``. (Real
    chunked requests through gunicorn: test_webhook_server.py.)"""
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return Client().generic(
        "POST",
        path,
        data=b"",
        headers={**headers, "Transfer-Encoding": "chunked"},
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(raw)},
    )


def ingest_only_definition(
    name: str = "ingest-only", *, on_unchanged: str | None = None
) -> PipelineDefinition:
    """An ingest-only pipeline; ``on_unchanged="run"`` turns noise control's change gate off
    for tests about the layers before it (dedup, signatures)."""
    config = {**INGEST_ONLY, **({"on_unchanged": on_unchanged} if on_unchanged else {})}
    return PipelineDefinition.objects.create(name=name, config=config)


def row_counts() -> tuple[int, int, int]:
    return (PipelineRun.objects.count(), WebhookDelivery.objects.count(), Alert.objects.count())
