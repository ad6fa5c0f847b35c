"""Generic JSON webhook: the message and its run context POSTed (or PUT) to any endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apps.notify.drivers.base import MASK, BaseDriver
from apps.notify.drivers.config import ConfigReader
from apps.notify.http import ALLOWED_METHODS, send_json
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render


@dataclass(frozen=True)
class GenericConfig:
    endpoint_url: str
    headers: dict[str, str]
    method: str

    @classmethod
    def from_dict(cls, raw: Any) -> GenericConfig:
        # "endpoint" is what the seed's pipeline examples call the URL.
        r = ConfigReader(raw, {"endpoint_url", "headers", "method"}, {"endpoint": "endpoint_url"})
        method = r.string("method", required=False, default="POST").upper()
        if method not in ALLOWED_METHODS:
            r.errors.append(f"method must be one of {', '.join(ALLOWED_METHODS)}")
        config = cls(
            endpoint_url=r.url("endpoint_url"), headers=r.headers("headers"), method=method
        )
        r.finish()
        return config


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
