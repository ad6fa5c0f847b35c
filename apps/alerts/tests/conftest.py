"""Webhook tests authenticate with these credentials; the limiter starts from zero each test."""

from __future__ import annotations

import pytest

WEBHOOK_TOKEN = "test-webhook-token"
HMAC_SECRET = "test-hmac-secret"


@pytest.fixture(autouse=True)
def _webhook_credentials(settings) -> None:
    from apps.alerts.webhooks import ratelimit

    settings.ALERTS_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.ALERTS_WEBHOOK_HMAC_SECRET = HMAC_SECRET
    ratelimit.reset_local_counts()
