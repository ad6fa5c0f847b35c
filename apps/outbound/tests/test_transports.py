"""The guard inside each client library, attacked the ways issue 8 found: a URL two parsers
read differently, a name that re-resolves (DNS rebinding), IPv4 wrapped in IPv6.

Every attack aims at a listener on 127.0.0.1 and asserts it never receives a connection; the
autouse firewall refuses (and records) any attempt to leave loopback.
"""

from __future__ import annotations

import httpx2
import pytest
import requests

from apps.outbound import OutboundBlockedError
from apps.outbound.smtp import GuardedSMTP
from apps.outbound.transports import guarded_httpx_client, guarded_session
from tests.support.network import PUBLIC_IPV4, Firewall, Listener, rebinding

BACKSLASH = "http://127.0.0.1:{port}\\@hooks.invalid/x"


@pytest.fixture
def only_hooks_invalid(settings) -> None:
    """The issue's setting: one allow-listed name that never resolves, loopback not allowed."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.invalid"]
    settings.NOTIFY_ALLOWED_HOSTS = []


def post_requests(url: str) -> None:
    with guarded_session() as session:
        session.post(url, json={}, timeout=3, allow_redirects=False)


def post_httpx(url: str) -> None:
    with guarded_httpx_client(timeout=3) as client:
        client.post(url, json={})


CLIENTS = [pytest.param(post_requests, id="requests"), pytest.param(post_httpx, id="httpx")]
# What each library raises when the connection attempt itself fails (here: the firewall).
CONNECT_ERRORS = (requests.ConnectionError, httpx2.ConnectError)


@pytest.mark.parametrize("post", CLIENTS)
def test_an_allowed_loopback_listener_is_reached(post, listener: Listener, settings) -> None:
    # The control: the same clients do reach the listener when it is allowed.
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(CONNECT_ERRORS + (httpx2.RemoteProtocolError,)):
        post(f"http://127.0.0.1:{listener.port}/x")  # the listener hangs up without answering
    assert len(listener.connections) == 1
    assert listener.connections[0].startswith(b"POST /x")


def test_the_backslash_url_reaches_the_listener_through_a_plain_session(
    listener: Listener, only_hooks_invalid
) -> None:
    # The attack is real: urllib3 connects to the host before the backslash.
    with pytest.raises(requests.ConnectionError), requests.Session() as session:
        session.post(BACKSLASH.format(port=listener.port), timeout=3)
    assert len(listener.connections) == 1


def test_the_backslash_url_is_refused_at_connect_time(
    listener: Listener, firewall: Firewall, only_hooks_invalid
) -> None:
    with pytest.raises(OutboundBlockedError) as caught:
        post_requests(BACKSLASH.format(port=listener.port))
    assert "127.0.0.1 is a loopback address" in caught.value.message
    assert listener.connections == []
    assert firewall.attempted == []


def test_the_ipv6_backslash_url_is_refused_without_any_attempt(
    firewall: Firewall, only_hooks_invalid
) -> None:
    with pytest.raises(OutboundBlockedError) as caught:
        post_requests("http://[::1]:8340\\@hooks.invalid/x")
    assert "::1 is a loopback address" in caught.value.message
    assert firewall.attempted == []


def test_the_backslash_url_never_reaches_the_listener_through_httpx(
    listener: Listener, firewall: Firewall, only_hooks_invalid
) -> None:
    # httpx reads the allow-listed name as the host (which never resolves); whichever host
    # a parser picks, the guard judges the address the socket would connect to.
    with pytest.raises((OutboundBlockedError, *CONNECT_ERRORS)):
        post_httpx(BACKSLASH.format(port=listener.port))
    assert listener.connections == []
    assert firewall.attempted == []


@pytest.mark.parametrize("post", CLIENTS)
def test_a_rebinding_name_is_resolved_once_and_only_the_checked_address_is_tried(
    post, listener: Listener, firewall: Firewall, resolver, settings
) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    dns = resolver(rebinding(PUBLIC_IPV4, "127.0.0.1"))

    with pytest.raises(CONNECT_ERRORS):
        post(f"http://rebind.invalid:{listener.port}/x")

    assert dns.calls == 1  # a second lookup would have answered 127.0.0.1
    assert firewall.attempted == [PUBLIC_IPV4]  # only the checked address, kept from leaving
    assert listener.connections == []


@pytest.mark.parametrize("post", CLIENTS)
def test_a_name_answering_public_then_loopback_is_refused_before_any_attempt(
    post, listener: Listener, firewall: Firewall, resolver, settings
) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    resolver(lambda call: [PUBLIC_IPV4, "127.0.0.1"])

    with pytest.raises(OutboundBlockedError):
        post(f"http://mixed.invalid:{listener.port}/x")

    assert firewall.attempted == []
    assert listener.connections == []


@pytest.mark.parametrize("post", CLIENTS)
@pytest.mark.parametrize(
    "host", ["[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::127.0.0.1]", "[::ffff:127.0.0.1]"]
)
def test_loopback_wrapped_in_ipv6_is_refused(post, host: str, firewall: Firewall, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    with pytest.raises(OutboundBlockedError) as caught:
        post(f"http://{host}:8080/x")
    assert "loopback" in caught.value.message or "reserved" in caught.value.message
    assert firewall.attempted == []


@pytest.mark.parametrize("post", CLIENTS)
def test_tls_still_names_the_original_host(post, listener: Listener, resolver, settings) -> None:
    # The socket connects to a checked address, but TLS is started for the URL's host name:
    # the ClientHello's SNI (sent in clear) carries it, and certificates are checked for it.
    settings.OUTBOUND_ALLOWED_HOSTS = ["tls.invalid"]
    resolver(lambda call: ["127.0.0.1"])
    with pytest.raises(Exception):  # noqa: B017 (the listener speaks no TLS)
        post(f"https://tls.invalid:{listener.port}/x")
    assert b"tls.invalid" in listener.connections[0]


def test_smtp_is_refused_at_connect_time(listener: Listener, firewall: Firewall, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    with pytest.raises(OutboundBlockedError):
        GuardedSMTP("127.0.0.1", listener.port, timeout=3)
    assert listener.connections == []


def test_smtp_resolves_a_rebinding_name_once(
    listener: Listener, firewall: Firewall, resolver, settings
) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    dns = resolver(rebinding(PUBLIC_IPV4, "127.0.0.1"))
    with pytest.raises(ConnectionRefusedError):
        GuardedSMTP("rebind.invalid", listener.port, timeout=3)
    assert dns.calls == 1
    assert firewall.attempted == [PUBLIC_IPV4]
    assert listener.connections == []
