"""Channels over the API: secrets masked in every answer, kept on echo, a real test send."""

from __future__ import annotations

import pytest

from apps.notify.models import NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply

pytestmark = pytest.mark.django_db
URL = "/notify/channels/"
HOOK = "https://hooks.slack.com/services/T0/B0/SECRETPATH"


def make(api, name="ops", driver="slack", config=None, **extra):
    config = {"webhook_url": HOOK} if config is None else config
    body = {"name": name, "driver": driver, "config": config, **extra}
    return api.write.post(URL, body, format="json")


def test_crud_with_secrets_masked_everywhere(api):
    made = make(api)
    assert made.status_code == 201, made.content
    assert made.json()["config"] == {"webhook_url": "https://hooks.slack.com/****"}
    answers = [made, api.read.get(URL), api.read.get(URL + "ops/")]
    assert all("SECRETPATH" not in r.content.decode() for r in answers)

    # The masked value sent back unchanged keeps the stored secret.
    shown = api.read.get(URL + "ops/").json()
    kept = api.write.put(
        URL + "ops/", {"config": shown["config"], "description": "x"}, format="json"
    )
    assert kept.status_code == 200
    assert NotificationChannel.objects.get(name="ops").config["webhook_url"] == HOOK

    # Part of a masked value edited: refused, nothing stored with the mask.
    edited = {"webhook_url": "https://hooks.slack.com/****/more"}
    refused = api.write.patch(URL + "ops/", {"config": edited}, format="json")
    assert refused.status_code == 400
    assert "still contains the mask" in refused.json()["error"]
    assert NotificationChannel.objects.get(name="ops").config["webhook_url"] == HOOK

    new = {"webhook_url": "https://hooks.slack.com/services/NEW"}
    assert api.write.patch(URL + "ops/", {"config": new}, format="json").status_code == 200
    assert NotificationChannel.objects.get(name="ops").config == new
    assert (
        api.write.patch(URL + "ops/", {"is_active": False}, format="json").json()["is_active"]
        is False
    )
    assert api.write.delete(URL + "ops/").status_code == 204
    assert api.read.get(URL + "ops/").status_code == 404


def test_generic_headers_and_email_passwords_are_masked_and_kept(api):
    generic = {"endpoint_url": "https://example.com/hook", "headers": {"Authorization": "Bearer T"}}
    assert make(api, "g", "generic", generic).json()["config"]["headers"] == {
        "Authorization": "****"
    }
    email = {
        "smtp_host": "127.0.0.1", "smtp_port": 25, "smtp_from": "a@example.com",
        "smtp_to": ["b@example.com"], "smtp_user": "u", "smtp_password": "hunter2",
    }  # fmt: skip
    shown = make(api, "mail", "email", email).json()["config"]
    assert shown["smtp_password"] == "****"
    api.write.put(URL + "mail/", {"config": {**shown, "smtp_port": 2525}}, format="json")
    stored = NotificationChannel.objects.get(name="mail").config
    assert stored["smtp_password"] == "hunter2" and stored["smtp_port"] == 2525


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"driver": "carrier-pigeon"}, "driver", "not a valid choice"),
        ({"config": {}}, "config", "webhook_url is required"),
        ({"config": {"webhook_url": "ftp://x"}}, "config", "http"),
        ({"config": "x"}, "config", "JSON object"),
        ({"name": "a b"}, "name", "no spaces"),
        ({"is_active": "yes"}, "is_active", "true or false"),
        ({"description": None}, "description", "may not be null"),
    ],
)
def test_bad_channels_are_400_naming_the_field(api, body, field, message):
    response = make(api, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert message in response.json()["error"]
    assert not NotificationChannel.objects.exists()


def test_duplicate_names_are_409(api):
    make(api)
    assert make(api).status_code == 409


def test_the_test_endpoint_sends_through_the_driver(api, http_server: RecordingServer):
    make(api, "hook", "generic", {"endpoint_url": http_server.url + "/in"})
    sent = api.write.post(URL + "hook/test/", {"title": "Hello"}, format="json")
    assert sent.status_code == 200
    assert sent.json()["sent"] is True
    assert http_server.requests[0].json()["title"] == "Hello"

    http_server.reply(Reply(status=500))
    failed = api.write.post(URL + "hook/test/", {}, format="json").json()
    assert failed["sent"] is False and failed["retryable"] is True
    assert "500" in failed["error"]
    assert (
        api.write.post(URL + "hook/test/", {"severity": "doom"}, format="json").status_code == 400
    )
    assert api.read.post(URL + "hook/test/", {}, format="json").status_code == 403


def test_drivers_list_their_config_schema(api):
    drivers = api.read.get("/notify/drivers/").json()["drivers"]
    assert list(drivers) == ["email", "slack", "pagerduty", "generic"]
    assert "webhook_url" in drivers["slack"]["properties"]
    assert drivers["slack"]["required"] == ["webhook_url"]
