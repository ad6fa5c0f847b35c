"""Which addresses the guard allows: public unicast, or what the allow-list names."""

from __future__ import annotations

import ipaddress

import pytest

from apps.outbound.addresses import (
    OutboundBlockedError,
    allow_list,
    embedded_ipv4,
    ensure_allowed,
    refusal_reason,
)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",
        "0.0.0.0",
        "127.0.0.1",
        "100.64.0.1",
        "240.0.0.1",
        "224.0.0.1",
        "::1",
        "::",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    ],
)
def test_private_loopback_and_wrapped_addresses_are_refused(address: str, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    with pytest.raises(OutboundBlockedError) as caught:
        ensure_allowed("target", ipaddress.ip_address(address), allow_list())
    assert caught.value.retryable is False
    assert "OUTBOUND_ALLOWED_HOSTS" in caught.value.message


@pytest.mark.parametrize(
    ("wrapped", "inner"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::127.0.0.1", "127.0.0.1"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
        ("2606:4700:4700::1111", None),
        ("::1", None),
    ],
)
def test_ipv4_inside_ipv6_is_unwrapped(wrapped: str, inner: str | None) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(wrapped))
    assert (str(found) if found else None) == inner


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_the_allow_list_takes_names_addresses_and_networks(settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    settings.OUTBOUND_ALLOWED_HOSTS = ["relay.internal", "10.0.0.0/8", "192.168.1.5"]
    allowed = allow_list()
    ensure_allowed("relay.internal", ipaddress.ip_address("172.20.0.9"), allowed)
    ensure_allowed("x", ipaddress.ip_address("10.20.30.40"), allowed)
    ensure_allowed("x", ipaddress.ip_address("192.168.1.5"), allowed)
    # An IPv6 form of an allowed IPv4 address is that address.
    ensure_allowed("x", ipaddress.ip_address("::ffff:10.1.1.1"), allowed)
    with pytest.raises(OutboundBlockedError):
        ensure_allowed("x", ipaddress.ip_address("192.168.1.6"), allowed)
    with pytest.raises(OutboundBlockedError):
        ensure_allowed("relay.internal.evil", ipaddress.ip_address("172.20.0.9"), allowed)


def test_the_older_notify_setting_still_allows(settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
    ensure_allowed("127.0.0.1", ipaddress.ip_address("127.0.0.1"), allow_list())
