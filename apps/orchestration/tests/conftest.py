"""API clients holding keys of each scope (DRF's test client, real hashed keys), and the
notify tests' local HTTP recorder."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.notify.tests.conftest import http_server  # noqa: F401 - the HTTP recorder fixture
from apps.orchestration.apikeys import ApiKey


@dataclass
class Clients:
    anon: APIClient
    read: APIClient
    write: APIClient
    admin: APIClient


def client_with(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def api(db, settings) -> Clients:
    settings.API_AUTH_REQUIRED = True
    settings.API_KEYS = []
    keys = {
        scope: ApiKey.create_key(f"test-{scope}", scope)[1] for scope in ("read", "write", "admin")
    }
    return Clients(
        anon=client_with(None),
        read=client_with(keys["read"]),
        write=client_with(keys["write"]),
        admin=client_with(keys["admin"]),
    )
