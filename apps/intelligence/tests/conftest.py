from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.intelligence.tests.servers import ScriptedServer


@pytest.fixture
def api_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_ambient_keys(settings: Any) -> None:
    # A developer's real keys must never reach a test server or a test's output.
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODEL = "gpt-4o-mini"
    settings.ANTHROPIC_API_KEY = ""
    settings.ANTHROPIC_BASE_URL = ""
    settings.INTELLIGENCE_TOKEN_BUDGET = 20000


@pytest.fixture
def incident() -> dict[str, Any]:
    """An incident summary as apps.alerts.services.incident_summary returns it."""
    return {
        "id": 42,
        "title": "HighMemoryUsage on web-1",
        "status": "open",
        "severity": "critical",
        "description": "Memory above 95% for 10 minutes",
        "source": "alertmanager",
        "created_at": "2026-01-01T10:00:00+00:00",
        "alerts": [
            {
                "name": "HighMemoryUsage",
                "fingerprint": "abc123",
                "status": "firing",
                "severity": "critical",
                "description": "Memory usage is 97%",
                "labels": {"alertname": "HighMemoryUsage", "instance": "web-1:9100"},
                "annotations": {"runbook_url": "https://runbooks.example.com/memory"},
                "started_at": "2026-01-01T09:50:00+00:00",
            }
        ],
    }
