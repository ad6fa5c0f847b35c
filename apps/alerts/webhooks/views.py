"""The webhook endpoints.

``POST /alerts/webhook/`` (detect the source), ``POST /alerts/webhook/<source>/`` and the
seed's ``POST /orchestration/pipeline/?definition=<name>``. Each answers
``202 {"status": "queued", "run_id", "trace_id", "status_url"}`` once the run is stored;
its nodes run on the workers. A repeated delivery answers 200 with the earlier run and its
real status (``"replayed": true``). Every refusal is a JSON ``{"error": ...}`` with a 4xx, and
an unavailable database is a 503 with ``Retry-After`` (a broker outage costs nothing: the
outbox relay publishes once it is back); never a 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.alerts.drivers import (
    DRIVER_REGISTRY,
    NormalizedAlert,
    PayloadNotRecognizedError,
    UnknownEventError,
    parse_payload,
)
from apps.alerts.webhooks import idempotency, ratelimit
from apps.alerts.webhooks.auth import AuthenticationError, Credential, authenticate
from apps.alerts.webhooks.body import BodyError, check_declared_size, parse_json, read_body
from apps.alerts.webhooks.intake import ClaimContendedError, start_run
from apps.alerts.webhooks.responses import error, queued, unavailable
from apps.monitoring import metrics
from apps.noise.gate import change_gate
from apps.orchestration.defaults import default_alert_definition
from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.models import PipelineDefinition, PipelineRun

logger = logging.getLogger(__name__)

PIPELINE_DEFAULT_SOURCE = "webhook"
LABELS = {*DRIVER_REGISTRY, "detect"}
MAX_SOURCE_LENGTH = 64  # PipelineRun.source


class Refused(Exception):
    """Stop handling the request and answer ``response``."""

    def __init__(self, response: JsonResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class Delivery:
    """What the request turned out to be, once validated."""

    source: str
    payload: Any
    alerts: list[NormalizedAlert] = field(default_factory=list)


@csrf_exempt
def alert_webhook(request: HttpRequest, source: str | None = None) -> JsonResponse:
    """An alert from ``source`` (or from whichever source recognises the body)."""
    response = _handle(request, source=source, route=f"alerts:{source or '*'}", alerts=True)
    # The label is the route, bounded to the known sources: a path is attacker-chosen.
    label = "detect" if source is None else source.lower()
    metrics.count_webhook(label if label in LABELS else "unknown", response.status_code)
    return response


@csrf_exempt
def pipeline_webhook(request: HttpRequest) -> JsonResponse:
    """Any JSON object into ``?definition=<name>`` (else the default alert pipeline)."""
    response = _handle(request, source=None, route="pipeline", alerts=False)
    metrics.count_webhook("pipeline", response.status_code)
    return response


def _handle(request: HttpRequest, *, source: str | None, route: str, alerts: bool) -> JsonResponse:
    if request.method != "POST":
        response = error(f"method {request.method} not allowed; POST a JSON body", 405)
        response["Allow"] = "POST"
        return response
    try:
        return _accept(request, source, route, alerts)
    except Refused as refused:
        return refused.response
    except ClaimContendedError as exc:
        return unavailable(str(exc))
    except (OperationalError, InterfaceError) as exc:
        logger.warning("webhook refused: database unavailable (%s)", exc)
        return unavailable("database unavailable; retry later")


def _accept(request: HttpRequest, source: str | None, route: str, alerts: bool) -> JsonResponse:
    try:
        check_declared_size(request)
        body = read_body(request)
    except BodyError as exc:
        raise Refused(error(exc.message, exc.status)) from None
    if source is not None:
        source = source.lower()
    try:
        credential = authenticate(request, body, source)
    except AuthenticationError as exc:
        response = error(exc.message, 401)
        response["WWW-Authenticate"] = 'Bearer realm="alert webhooks"'
        raise Refused(response) from None
    if source is not None and source not in DRIVER_REGISTRY:
        raise Refused(
            error(f"unknown alert source: {source!r}", 404, known_sources=list(DRIVER_REGISTRY))
        )
    delivery = _alert_delivery(body, source) if alerts else _pipeline_delivery(request, body)
    if isinstance(delivery, JsonResponse):
        return delivery  # an event the source sends that we deliberately ignore
    wait = ratelimit.over_limit(delivery.source)
    if wait is not None:
        raise Refused(
            error(
                f"rate limit exceeded for source {delivery.source!r}: "
                f"{settings.ALERTS_RATE_LIMIT_PER_MINUTE} requests per minute",
                429,
                retry_after=wait,
            )
        )
    definition = _definition(request, delivery.source)
    key = _dedup_key(request, route, definition.name, delivery, credential)
    # Noise control's change gate: a re-push that changes nothing answers 200 without a run.
    unchanged = change_gate(definition, delivery.source, delivery.alerts, key)
    if unchanged is not None:
        return unchanged
    try:
        started = start_run(
            definition,
            payload=delivery.payload,
            source=delivery.source,
            key=key,
            # The body as received is the payload's JSON: stored as it is, not dumped again.
            payload_json=body.decode() if body.strip() else None,
        )
    except DefinitionInvalidError as exc:
        raise Refused(
            error(f"pipeline definition invalid: {definition.name}", 422, errors=exc.errors)
        ) from None
    if started.replayed:
        run_status = (
            PipelineRun.objects.filter(run_id=started.run_id)
            .values_list("status", flat=True)
            .first()
        )
        return queued(started.run_id, started.trace_id, replayed=True, run_status=run_status)
    return queued(started.run_id, started.trace_id)


def _json(body: bytes, *, empty: Any = None) -> Any:
    if not body.strip() and empty is not None:
        return empty
    if not body.strip():
        raise Refused(error("empty body: send a JSON object", 400))
    try:
        return parse_json(body)
    except BodyError as exc:
        raise Refused(error(exc.message, exc.status)) from None


def _alert_delivery(body: bytes, source: str | None) -> Delivery | JsonResponse:
    payload = _json(body)
    if not isinstance(payload, dict):
        raise Refused(error(f"the body must be a JSON object, got {type(payload).__name__}", 400))
    try:
        driver, parsed = parse_payload(payload, source)
    except UnknownEventError as exc:
        return JsonResponse(
            {"status": "ignored", "source": exc.source, "event_type": exc.event_type,
             "reason": exc.message},
            status=200,
        )  # fmt: skip
    except PayloadNotRecognizedError as exc:
        raise Refused(
            error(
                exc.message, 422, source=exc.source or source, known_sources=list(DRIVER_REGISTRY)
            )
        ) from None
    return Delivery(driver.name, payload, parsed)


def _pipeline_delivery(request: HttpRequest, body: bytes) -> Delivery:
    payload = _json(body, empty={})
    if not isinstance(payload, dict):
        raise Refused(error(f"the body must be a JSON object, got {type(payload).__name__}", 400))
    named = _query(request, "source") or payload.get("source")
    source = named.strip() if isinstance(named, str) and named.strip() else PIPELINE_DEFAULT_SOURCE
    if len(source) > MAX_SOURCE_LENGTH:
        raise Refused(error(f"source is longer than {MAX_SOURCE_LENGTH} characters", 400))
    return Delivery(source, payload)


def _definition(request: HttpRequest, source: str) -> PipelineDefinition:
    name = _query(request, "definition").strip()
    if name:
        definition = PipelineDefinition.objects.filter(name=name, is_active=True).first()
        if definition is None:
            raise Refused(error(f"Active pipeline definition not found: {name}", 404))
        return definition
    definition = default_alert_definition(source, shared=True)
    if definition is None:
        configured = (
            settings.ALERTS_SOURCE_PIPELINES.get(source) or settings.ALERTS_DEFAULT_PIPELINE
        )
        raise Refused(
            error(
                f"the default pipeline for source {source!r} is not an active definition: "
                f"{configured}",
                404,
            )
        )
    return definition


def _query(request: HttpRequest, name: str) -> str:
    """A query parameter; control characters refused (PostgreSQL cannot even compare a
    string holding NUL, and no name or source contains one)."""
    value = request.GET.get(name, "")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Refused(error(f"query parameter {name!r} must not contain control characters", 400))
    return value


def _dedup_key(
    request: HttpRequest, route: str, definition: str, delivery: Delivery, credential: Credential
) -> idempotency.DedupKey | None:
    if credential.signature is not None:
        return idempotency.from_signature(credential.signature)
    header = request.headers.get("Idempotency-Key", "")
    try:
        key = idempotency.from_header(header, route=route, definition=definition)
    except idempotency.IdempotencyKeyError as exc:
        raise Refused(error(str(exc), 400)) from None
    return key or idempotency.from_alerts(delivery.source, definition, delivery.alerts)
