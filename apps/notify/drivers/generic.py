"""Generic JSON webhook: the message and its run context POSTed (or PUT) to any endpoint."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BeforeValidator, Field, WithJsonSchema

from apps.notify.drivers.base import MASK, BaseDriver
from apps.notify.drivers.config import DriverConfig, Headers, url
from apps.notify.http import ALLOWED_METHODS, send_json
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render
from apps.options import fail


def _method(value: Any) -> str:
    method = str(value or "POST").strip().upper() if isinstance(value, str | None) else ""
    if method not in ALLOWED_METHODS:
        fail(f"method must be one of {', '.join(ALLOWED_METHODS)}")
    return method


EndpointUrl = url()
Method = Annotated[str, BeforeValidator(_method), WithJsonSchema({"enum": list(ALLOWED_METHODS)})]


class GenericConfig(DriverConfig):
    # "endpoint" is what the seed's pipeline examples call the URL.
    endpoint_url: EndpointUrl = Field(
        validation_alias=AliasChoices("endpoint_url", "endpoint"),
        description="Where to send the JSON (path and query are masked when shown)",
    )
    headers: Headers = Field(
        default_factory=dict, description="Extra HTTP headers (values are masked when shown)"
    )
    method: Method = Field("POST", description="HTTP method")


class GenericDriver(BaseDriver):
    name = "generic"
    label = "Generic webhook (JSON)"
    config_class = GenericConfig

    def plain_config(self, config: dict[str, Any]) -> dict[str, Any]:
        plain = super().plain_config(config)
        if isinstance(plain.get("headers"), str) and plain["headers"].strip():
            try:
                plain["headers"] = json.loads(plain["headers"])
            except ValueError:
                # Invalid headers cannot be sent anyway; show nothing of them.
                plain["headers"] = MASK
        return plain

    def mask_value(self, key: str, value: Any) -> Any:
        # Header values are where webhooks carry tokens (Authorization, X-Api-Key, ...).
        if key == "headers" and isinstance(value, dict):
            return {name: MASK for name in value}
        if key in ("endpoint_url", "endpoint") and isinstance(value, str):
            parts = urlsplit(value)
            netloc = parts.netloc
            if "@" in netloc:
                netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
            # Many webhook services (Discord, Teams, ...) carry the token in the path.
            path = "/" + MASK if parts.path not in ("", "/") else parts.path
            return urlunsplit((parts.scheme, netloc, path, MASK if parts.query else "", ""))
        return value

    def payload(self, message: NotificationMessage) -> dict[str, Any]:
        ctx = message.context or {}
        body = {
            "title": message.title,
            "message": message.message,
            "severity": message.severity,
            "channel": message.channel,
            "tags": message.tags,
            "dedup_key": message.dedup_key,
            "text": render("message.txt", message),
            "context": {
                key: ctx.get(key)
                for key in (
                    "run_id",
                    "trace_id",
                    "source",
                    "environment",
                    "incident",
                    "alerts",
                    "checks",
                    "recommendations",
                )
            },
        }
        if ctx.get("noise"):
            # Why this message now (new, reminder, resolution, ...): docs/noise.md.
            body["context"]["noise"] = ctx["noise"]
        return body

    def send(self, message: NotificationMessage, config: dict[str, Any]) -> DeliveryResult:
        cfg = self.parse_config(config)
        headers = dict(cfg.headers)
        if message.idempotency_key:
            # The same on a resend after an unknown outcome: receivers that honour it (as
            # Stripe-style APIs do) act once.
            headers.setdefault("Idempotency-Key", message.idempotency_key)
        response = send_json(
            cfg.endpoint_url, self.payload(message), method=cfg.method, headers=headers
        )
        return DeliveryResult(driver=self.name, summary=response.summary())
