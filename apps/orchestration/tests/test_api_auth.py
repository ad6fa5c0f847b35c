"""API authentication: hashed keys with scopes, the bootstrap setting, the admin's session."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.orchestration.apikeys import ApiKey, digest
from apps.orchestration.tests.conftest import client_with
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db
NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]
BODY = {"name": "made", "config": {"version": "1", "nodes": NODES}}

# One read and one write per resource: every one refuses no key, and a read key on a write.
READS = [
    "/orchestration/definitions/",
    "/orchestration/definitions/default-alert-pipeline/",
    "/orchestration/runs/",
    "/orchestration/schedules/",
    "/notify/channels/",
    "/notify/drivers/",
    "/alerts/incidents/",
]
WRITES = [
    ("post", "/orchestration/definitions/", BODY),
    ("patch", "/orchestration/definitions/d/", {"is_active": False}),
    ("delete", "/orchestration/definitions/d/", None),
    ("post", "/orchestration/definitions/d/execute/", {}),
    ("post", "/orchestration/runs/x/retry/", None),
    ("post", "/orchestration/runs/x/cancel/", None),
    ("post", "/orchestration/schedules/", {"definition": "d", "every": "5m"}),
    ("post", "/notify/channels/", {"name": "c", "driver": "slack", "config": {}}),
    ("post", "/alerts/incidents/1/close/", None),
]


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_key_and_a_read_key_is_enough(api, path):
    definition("d", NODES)
    refused = api.anon.get(path)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Api-Key")
    assert "Api-Key" in refused.json()["error"]
    assert api.read.get(path).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_changes_need_a_write_key(api, method, path, body):
    definition("d", NODES)
    assert getattr(api.anon, method)(path, body, format="json").status_code == 401
    refused = getattr(api.read, method)(path, body, format="json")
    assert refused.status_code == 403
    assert "'write' scope" in refused.json()["error"]
    # A write key passes authorization; what follows depends on the resource (never 401/403).
    assert getattr(api.write, method)(path, body, format="json").status_code not in (401, 403)


def test_validate_and_dry_run_only_need_read(api):
    definition("d", NODES)
    assert api.read.post("/orchestration/definitions/d/validate/").status_code == 200
    assert api.read.post("/orchestration/definitions/d/dry-run/").status_code == 200


def test_an_unknown_or_revoked_key_is_refused(api):
    row, key = ApiKey.create_key("gone", "admin")
    assert client_with(key).get("/orchestration/runs/").status_code == 200
    row.revoked_at = row.created_at
    row.save()
    assert client_with(key).get("/orchestration/runs/").status_code == 401
    assert client_with(key + "x").get("/orchestration/runs/").status_code == 401
    assert client_with("ap_nope_nope").get("/orchestration/runs/").status_code == 401


def test_keys_are_stored_hashed_and_x_api_key_works(api):
    row, key = ApiKey.create_key("hashed", "read")
    assert key not in row.hashed_key and row.hashed_key == digest(key)
    assert ApiKey.objects.filter(hashed_key__contains=key).count() == 0
    client = APIClient()
    assert client.get("/orchestration/runs/", HTTP_X_API_KEY=key).status_code == 200


def test_bootstrap_keys_from_the_setting_have_the_admin_scope(api, settings):
    settings.API_KEYS = ["bootstrap-key-0123456789"]
    client = client_with("bootstrap-key-0123456789")
    assert client.post("/orchestration/definitions/", BODY, format="json").status_code == 201


def test_auth_can_be_turned_off(api, settings):
    settings.API_AUTH_REQUIRED = False
    assert api.anon.get("/orchestration/definitions/").status_code == 200


def test_staff_sessions_pass_and_keep_csrf(api):
    staff = User.objects.create_user("ops", password="pw-123456", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.get("/orchestration/definitions/").status_code == 200
    # No CSRF token: the session may read but not change anything.
    refused = client.post("/orchestration/definitions/", BODY, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    plain = User.objects.create_user("nobody", password="pw-123456")
    other = APIClient()
    other.force_login(plain)
    assert other.get("/orchestration/definitions/").status_code == 403


def test_create_api_key_prints_the_key_once_and_it_works(api, capsys):
    call_command("create_api_key", "--name", "ci", "--scope", "write")
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("ap_")
    row = ApiKey.objects.get(name="ci")
    assert row.scope == "write" and row.hashed_key == digest(key)
    assert (
        client_with(key).post("/orchestration/definitions/", BODY, format="json").status_code == 201
    )
    call_command("create_api_key", "--revoke", row.prefix)
    assert client_with(key).get("/orchestration/runs/").status_code == 401
    call_command("create_api_key", "--list")
    assert row.prefix in capsys.readouterr().out
