"""Issue 8's backslash bypass through every way a notification URL gets in: a stored
channel, an inline ``driver_config`` and ``test_notify``. ``NOTIFY_ALLOWED_HOSTS`` allows
only ``hooks.invalid``; the URL names it after ``\\@`` while urllib3 connects to the host
before. The internal listener on 127.0.0.1 must never see a connection."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.notify.drivers import get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.http import send_json
from apps.notify.models import NotificationChannel
from apps.notify.tests.helpers import sample_message
from apps.orchestration.nodes import NodeContext, get_node_handler
from apps.orchestration.validation import validate_config
from tests.support.network import Firewall, Listener

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_hooks_invalid(settings, firewall: Firewall) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = ["hooks.invalid"]
    settings.OUTBOUND_ALLOWED_HOSTS = []


def bypass_url(listener: Listener) -> str:
    return f"http://127.0.0.1:{listener.port}\\@hooks.invalid/x"


def context() -> NodeContext:
    return NodeContext(trace_id="t-1", run_id="r-1", node_id="notify")


def stored_before_validation(name: str, url: str) -> None:
    # bulk_create skips save()'s validation: a row written by an older version.
    NotificationChannel.objects.bulk_create(
        [NotificationChannel(name=name, driver="generic", config={"endpoint_url": url})]
    )


def test_a_channel_with_the_url_cannot_be_saved(listener: Listener) -> None:
    with pytest.raises(ValidationError) as caught:
        NotificationChannel.objects.create(
            name="internal", driver="generic", config={"endpoint_url": bypass_url(listener)}
        )
    assert "endpoint_url must not contain a backslash" in str(caught.value)


def test_a_stored_channel_with_the_url_never_connects(listener: Listener) -> None:
    stored_before_validation("internal", bypass_url(listener))

    result = get_node_handler("notify").execute(context(), {"channels": ["internal"]})

    assert result.output["status"] == "failed"
    assert "backslash" in result.errors[0]
    assert listener.connections == []


def test_an_inline_driver_config_with_the_url_is_refused_when_saved_and_when_run(
    listener: Listener,
) -> None:
    node = {"driver": "generic", "driver_config": {"endpoint_url": bypass_url(listener)}}
    definition = {"version": "1.0", "nodes": [{"id": "notify", "type": "notify", "config": node}]}

    errors = validate_config(definition)
    result = get_node_handler("notify").execute(context(), node)

    assert any(
        e.startswith("Node notify: driver_config: endpoint_url must not contain a backslash")
        for e in errors
    ), errors
    assert result.output["status"] == "failed"
    assert listener.connections == []


def test_test_notify_refuses_the_url_inline_and_from_a_stored_channel(
    listener: Listener,
) -> None:
    stored_before_validation("internal", bypass_url(listener))
    config = json.dumps({"endpoint_url": bypass_url(listener)})

    for args in (["generic", "--config", config], ["internal"]):
        with pytest.raises(CommandError) as caught:
            call_command("test_notify", *args, stdout=StringIO(), stderr=StringIO())
        assert "backslash" in str(caught.value)
    assert listener.connections == []


def test_the_driver_and_the_helper_refuse_it_at_send_time(listener: Listener) -> None:
    with pytest.raises(NotifyConfigError):
        get_driver("generic").send(sample_message(), {"endpoint_url": bypass_url(listener)})
    with pytest.raises(NotifyError) as caught:
        send_json(bypass_url(listener), {})
    assert caught.value.retryable is False
    assert listener.connections == []


def test_a_guard_refusal_is_permanent_and_sends_nothing(listener: Listener, settings) -> None:
    # Below URL validation: a plain loopback URL, refused on the socket the helper opens.
    with pytest.raises(NotifyError) as caught:
        send_json(f"http://127.0.0.1:{listener.port}/secret-path", {})
    assert caught.value.retryable is False
    assert "127.0.0.1 is a loopback address" in caught.value.message
    assert "secret-path" not in caught.value.message
    assert listener.connections == []
