"""Slack incoming webhooks: one JSON POST, mrkdwn body rendered from a template."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

from apps.notify.drivers.base import MASK, BaseDriver
from apps.notify.drivers.config import DriverConfig, url
from apps.notify.http import send_json
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render, slack_escape

WebhookUrl = url()
COLORS = {"critical": "#d32f2f", "error": "#f57c00", "warning": "#fbc02d", "info": "#1976d2"}


class SlackConfig(DriverConfig):
    webhook_url: WebhookUrl = Field(description="Incoming webhook URL (its path is the secret)")


class SlackDriver(BaseDriver):
    name = "slack"
    label = "Slack (incoming webhook)"
    config_class = SlackConfig

    def mask_value(self, key: str, value: Any) -> Any:
        # The webhook's path is its secret; the host alone says where it goes.
        if key == "webhook_url" and isinstance(value, str) and value:
            parts = urlsplit(value)
            return urlunsplit((parts.scheme, parts.netloc, "/" + MASK, "", ""))
        return value

    def payload(self, message: NotificationMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "text": f"[{message.severity.upper()}] {slack_escape(message.title)}",
            "attachments": [
                {
                    "color": COLORS.get(message.severity, COLORS["info"]),
                    "mrkdwn_in": ["text"],
                    "text": render("slack.txt", message),
                    "footer": f"run {message.context.get('run_id', '-')}",
                }
            ],
        }
        if message.channel:
            body["channel"] = message.channel
        return body

    def send(self, message: NotificationMessage, config: dict[str, Any]) -> DeliveryResult:
        cfg = self.parse_config(config)
        response = send_json(cfg.webhook_url, self.payload(message))
        return DeliveryResult(driver=self.name, summary=response.summary())
