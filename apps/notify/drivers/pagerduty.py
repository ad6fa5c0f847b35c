"""PagerDuty Events API v2: trigger (or resolve) an event deduplicated per incident."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from apps.notify.drivers.base import BaseDriver
from apps.notify.drivers.config import DriverConfig, text, url
from apps.notify.http import send_json
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render
from apps.options import fail

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024  # the Events API rejects longer summaries


def _routing_key(value: Any) -> Any:
    if isinstance(value, str) and value.strip() and any(c.isspace() for c in value.strip()):
        fail("routing_key must not contain whitespace")
    return value


RoutingKey = Annotated[text(), BeforeValidator(_routing_key)]
EventsUrl = url(DEFAULT_EVENTS_URL)


class PagerDutyConfig(DriverConfig):
    secret_fields = ("routing_key",)

    routing_key: RoutingKey = Field(
        description="Integration key of the service", json_schema_extra={"writeOnly": True}
    )
    events_url: EventsUrl = Field(DEFAULT_EVENTS_URL, description="Events API v2 endpoint")


class PagerDutyDriver(BaseDriver):
    name = "pagerduty"
    label = "PagerDuty (Events API v2)"
    config_class = PagerDutyConfig

    def event(self, message: NotificationMessage, routing_key: str) -> dict[str, Any]:
        ctx = message.context or {}
        incident = ctx.get("incident") or {}
        resolved = str(incident.get("status", "")).lower() == "resolved"
        event: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "resolve" if resolved and message.dedup_key else "trigger",
            "dedup_key": message.dedup_key,
            "payload": {
                "summary": message.title[:SUMMARY_LIMIT] or "alert",
                "source": ctx.get("source") or "alertpipes",
                # Our four severities are exactly the Events API's.
                "severity": message.severity,
                "component": ctx.get("environment") or None,
                "custom_details": {
                    "details": render("message.txt", message),
                    "run_id": ctx.get("run_id", ""),
                    "trace_id": ctx.get("trace_id", ""),
                    "incident_id": incident.get("id"),
                    "tags": message.tags,
                },
            },
        }
        if not event["dedup_key"]:
            del event["dedup_key"]
        if event["payload"]["component"] is None:
            del event["payload"]["component"]
        return event

    def send(self, message: NotificationMessage, config: dict[str, Any]) -> DeliveryResult:
        cfg = self.parse_config(config)
        response = send_json(cfg.events_url, self.event(message, cfg.routing_key))
        answer = response.json()
        dedup = answer.get("dedup_key", "") if isinstance(answer, dict) else ""
        return DeliveryResult(
            driver=self.name, summary=response.summary(), external_id=dedup or message.dedup_key
        )
