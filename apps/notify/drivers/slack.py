"""Slack incoming webhooks: one JSON POST, mrkdwn body rendered from a template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apps.notify.drivers.base import MASK, BaseDriver
from apps.notify.drivers.config import ConfigReader
from apps.notify.http import send_json
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render, slack_escape

COLORS = {"critical": "#d32f2f", "error": "#f57c00", "warning": "#fbc02d", "info": "#1976d2"}


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: str

    @classmethod
    def from_dict(cls, raw: Any) -> SlackConfig:
        r = ConfigReader(raw, {"webhook_url"})
        config = cls(webhook_url=r.url("webhook_url"))
        r.finish()
        return config


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
