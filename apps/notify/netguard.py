"""Refuse outbound connections to private, loopback, link-local and reserved addresses.

Channel URLs and SMTP hosts are typed in by operators (or arrive through the API); without
this guard a channel could make the worker probe internal services or cloud metadata
endpoints. ``NOTIFY_ALLOWED_HOSTS`` lists exceptions: host names, IP addresses or CIDR
networks (internal relays, and 127.0.0.1 in tests).
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from apps.notify.errors import NotifyError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _allowed_entries() -> list[str]:
    # Read at call time so tests and runtime overrides take effect.
    return [str(h).strip().lower() for h in getattr(settings, "NOTIFY_ALLOWED_HOSTS", []) if h]


def _in_allow_list(value: str, entries: list[str]) -> bool:
    value = value.lower().strip("[]")
    if value in entries:
        return True
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                return True
        except ValueError:
            continue
    return False


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to; a DNS failure is a ``NotifyError``."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        # A resolver hiccup can pass; a name that does not exist will not.
        retryable = exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", -11))
        raise NotifyError(f"cannot resolve host {host!r}: {exc}", retryable=retryable) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # Strip an IPv6 zone id ("fe80::1%eth0"); ip_address does not accept it.
        addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
    return addresses


def ensure_host_allowed(host: str, port: int) -> None:
    """Raise a permanent ``NotifyError`` unless every address of ``host`` is public or the
    host (or each of its addresses) is in ``NOTIFY_ALLOWED_HOSTS``."""
    if not host:
        raise NotifyError("no host given", retryable=False)
    entries = _allowed_entries()
    if _in_allow_list(host, entries):
        return
    addresses = resolve(host, port)
    if not addresses:
        raise NotifyError(f"host {host!r} resolved to no address", retryable=False)
    for address in addresses:
        if is_public_address(address) or _in_allow_list(str(address), entries):
            continue
        raise NotifyError(
            f"refusing to connect to {host!r}: {address} is a private, loopback, link-local "
            "or reserved address (add it to NOTIFY_ALLOWED_HOSTS to allow it)",
            retryable=False,
        )
