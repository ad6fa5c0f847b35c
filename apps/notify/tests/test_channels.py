"""Channels: config validated on save, secrets masked wherever shown, kept when re-submitted."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from apps.notify.admin import NotificationChannelForm
from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.models import NotificationChannel

pytestmark = pytest.mark.django_db

EMAIL = {
    "smtp_host": "smtp.example.com",
    "smtp_port": "587",
    "smtp_user": "alerts",
    "smtp_password": "hunter2",
    "smtp_from": "alerts@example.com",
    "smtp_to": "oncall@example.com",
}


def test_registry_keeps_the_wizard_order() -> None:
    assert list(DRIVER_REGISTRY) == ["email", "slack", "pagerduty", "generic"]


def test_driver_choices_derive_from_the_registry() -> None:
    field = NotificationChannel._meta.get_field("driver")
    assert [value for value, _ in field.choices] == list(DRIVER_REGISTRY)


def test_an_invalid_config_is_refused_on_save() -> None:
    with pytest.raises(ValidationError) as exc:
        NotificationChannel.objects.create(name="ops", driver="slack", config={})
    assert "webhook_url is required" in str(exc.value.message_dict["config"])
    assert not NotificationChannel.objects.exists()


def test_an_unknown_driver_is_refused_on_save() -> None:
    with pytest.raises(ValidationError) as exc:
        NotificationChannel.objects.create(name="ops", driver="fax", config={})
    assert "driver" in exc.value.message_dict


def test_a_valid_channel_saves() -> None:
    channel = NotificationChannel.objects.create(name="mail", driver="email", config=EMAIL)
    assert channel.pk is not None


@pytest.mark.parametrize(
    ("driver", "config", "masked"),
    [
        ("email", EMAIL, {**EMAIL, "smtp_password": "****"}),
        (
            "slack",
            {"webhook_url": "https://hooks.slack.com/services/T0/B0/abc"},
            {"webhook_url": "https://hooks.slack.com/****"},
        ),
        ("pagerduty", {"routing_key": "R0123456789"}, {"routing_key": "****"}),
        (
            "generic",
            {
                "endpoint_url": "https://hooks.example.com/in/tok3n?key=abc",
                "headers": '{"Authorization": "Bearer x", "X-Team": "ops"}',
            },
            {
                "endpoint_url": "https://hooks.example.com/****?****",
                "headers": {"Authorization": "****", "X-Team": "****"},
            },
        ),
    ],
)
def test_masked_config_hides_every_secret(driver: str, config: dict, masked: dict) -> None:
    channel = NotificationChannel.objects.create(name="c", driver=driver, config=config)
    assert channel.masked_config() == masked


def test_credentials_in_a_url_stored_before_they_were_refused_are_masked() -> None:
    # Saving refuses user@host now; a row written before that must still not show them.
    config = {"endpoint_url": "https://user:pw@hooks.example.com/in/tok3n?key=abc"}
    masked = get_driver("generic").masked_config(config)
    assert masked["endpoint_url"] == "https://****@hooks.example.com/****?****"


def test_restoring_secrets_keeps_masks_and_takes_new_values() -> None:
    driver = get_driver("generic")
    stored = {
        "endpoint_url": "https://h.example.com/x",
        "headers": {"Authorization": "t", "A": "1"},
    }
    submitted = {
        "endpoint_url": "https://h.example.com/****",
        "headers": {"Authorization": "****", "A": "2", "B": "new"},
    }
    assert driver.restore_secrets(submitted, stored) == {
        "endpoint_url": "https://h.example.com/x",
        "headers": {"Authorization": "t", "A": "2", "B": "new"},
    }


def test_the_admin_form_shows_masks_and_never_loses_the_secret() -> None:
    channel = NotificationChannel.objects.create(name="mail", driver="email", config=EMAIL)
    form = NotificationChannelForm(instance=channel)
    rendered = str(form["config"])
    assert "hunter2" not in rendered
    assert "****" in rendered

    data = {
        "name": "mail",
        "driver": "email",
        "config": form.initial["config"] | {"smtp_to": "new@example.com"},
        "is_active": True,
        "description": "",
    }

    bound = NotificationChannelForm(
        data={**data, "config": json.dumps(data["config"])}, instance=channel
    )
    assert bound.is_valid(), bound.errors
    bound.save()
    channel.refresh_from_db()
    assert channel.config["smtp_password"] == "hunter2"
    assert channel.config["smtp_to"] == "new@example.com"


def test_the_admin_change_page_never_shows_a_secret(admin_client) -> None:
    channel = NotificationChannel.objects.create(
        name="pd", driver="pagerduty", config={"routing_key": "R0SECRETKEY"}
    )
    page = admin_client.get(f"/admin/notify/notificationchannel/{channel.pk}/change/")
    assert page.status_code == 200
    assert b"R0SECRETKEY" not in page.content
    assert b"****" in page.content
