"""Channels in the admin: secrets masked, a masked value kept when left alone, an edit around
a mask refused (the secret intact), a test send, the last delivery."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from apps.notify.models import Delivery, NotificationChannel
from tests.support.sink import CountingSink

pytestmark = pytest.mark.django_db

SECRET = "http://127.0.0.1:8102/services/T0/B0/s3cr3t?key=k3y"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


@pytest.fixture
def channel():
    return NotificationChannel.objects.create(
        name="ops", driver="generic", config={"endpoint_url": SECRET}
    )


def post(client, channel, config):
    return client.post(
        f"/admin/notify/notificationchannel/{channel.pk}/change/",
        {"name": channel.name, "driver": "generic", "config": json.dumps(config),
         "is_active": "on", "description": ""},
    )  # fmt: skip


def test_the_page_shows_the_url_masked(admin_client, channel):
    page = admin_client.get(f"/admin/notify/notificationchannel/{channel.pk}/change/")
    text = page.content.decode()
    assert "s3cr3t" not in text and "k3y" not in text
    assert "http://127.0.0.1:8102/****?****" in text


def test_saving_the_mask_unchanged_keeps_the_secret(admin_client, channel):
    response = post(admin_client, channel, {"endpoint_url": "http://127.0.0.1:8102/****?****"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config["endpoint_url"] == SECRET


def test_editing_only_the_host_of_a_masked_url_is_refused_and_the_secret_kept(
    admin_client, channel
):
    response = post(admin_client, channel, {"endpoint_url": "http://127.0.0.1:8103/****?****"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Re-enter the whole value (for a URL: the whole URL)" in text
    channel.refresh_from_db()
    assert channel.config["endpoint_url"] == SECRET


def test_a_whole_new_url_replaces_the_secret(admin_client, channel):
    new = "http://127.0.0.1:8103/services/new"
    assert post(admin_client, channel, {"endpoint_url": new}).status_code == 302
    channel.refresh_from_db()
    assert channel.config["endpoint_url"] == new


def test_send_test_reaches_the_endpoint_and_reports(admin_client, channel):
    sink = CountingSink()
    try:
        channel.config = {"endpoint_url": sink.url}
        channel.save()
        response = admin_client.post(
            f"/admin/notify/notificationchannel/{channel.pk}/test/", follow=True
        )
        assert "Test sent to ops" in response.content.decode()
        assert sum(sink.raw.values()) == 1
    finally:
        sink.close()


def test_a_failed_test_send_says_why(admin_client, channel, settings):
    settings.NOTIFY_ALLOWED_HOSTS = []
    response = admin_client.post(
        f"/admin/notify/notificationchannel/{channel.pk}/test/", follow=True
    )
    assert "Test to ops failed" in response.content.decode()


def test_the_list_shows_each_channels_last_delivery(admin_client, channel):
    Delivery.objects.create(
        run_id="r", node_id="n", channel="ops", driver="generic", status="failed"
    )
    page = admin_client.get("/admin/notify/notificationchannel/").content.decode()
    assert '<span class="status-failed">failed</span>' in page
