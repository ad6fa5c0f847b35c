"""Where the real services are, and whether a test may skip when they are missing."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_url() -> str:
    """Redis for tests: TEST_REDIS_URL, else the configured broker, else the local default."""
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def redis_available() -> bool:
    parsed = urlparse(redis_url())
    return _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379)


def postgres_available() -> bool:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return False
    return _reachable(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))


def integration_required() -> bool:
    return os.environ.get("REQUIRE_INTEGRATION", "").lower() in {"1", "true", "yes"}


def require_or_skip(item: pytest.Item, reason: str) -> None:
    if integration_required():
        raise pytest.UsageError(f"integration test {item.nodeid} cannot run: {reason}")
    item.add_marker(pytest.mark.skip(reason=reason))
