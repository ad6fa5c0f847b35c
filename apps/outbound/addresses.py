"""Which addresses an outbound connection may reach, and resolving a name exactly once.

An address is allowed when it is globally routable unicast, or when the host name or the
address is in the allow-list (``OUTBOUND_ALLOWED_HOSTS`` plus the older
``NOTIFY_ALLOWED_HOSTS``: names, IP addresses or CIDR networks). IPv6 forms that carry an IPv4
address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by that IPv4 address:
``64:ff9b::7f00:1`` reaches 127.0.0.1 through a NAT64 gateway, so it is loopback here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple]

ALLOW_SETTING = "OUTBOUND_ALLOWED_HOSTS"
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"),)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class OutboundBlockedError(Exception):
    """A connection was refused by the guard before a byte was sent. Never retryable: the
    destination will not become allowed by trying again."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AllowList:
    """Names and networks connections may reach although they are not public."""

    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> AllowList:
        names: set[str] = set()
        networks = []
        for raw in entries:
            entry = str(raw).strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def has_name(self, host: str) -> bool:
        return host.lower().rstrip(".").strip("[]") in self.names

    def has_address(self, address: IPAddress) -> bool:
        candidates = [address]
        embedded = embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        return any(
            a in net for a in candidates for net in self.networks if a.version == net.version
        )


def allow_list(extra: Iterable[str] = ()) -> AllowList:
    """The configured allow-list plus ``extra``, read at call time so overrides take effect."""
    entries = list(getattr(settings, ALLOW_SETTING, []) or [])
    entries += list(getattr(settings, "NOTIFY_ALLOWED_HOSTS", []) or [])
    return AllowList.from_entries([*entries, *extra])


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client; the server half is only the relay
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _NAT64):
        return low32
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return low32
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not public (None when it is globally routable unicast)."""
    embedded = embedded_ipv4(address)
    if embedded is not None:
        reason = refusal_reason(embedded)
        return f"{reason} ({embedded} inside it)" if reason else None
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared or special-purpose", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None


def parse_address(text: str) -> IPAddress:
    # getaddrinfo gives "fe80::1%eth0" for scoped addresses; ip_address refuses the zone id.
    return ipaddress.ip_address(text.split("%", 1)[0])


def ensure_allowed(host: str, address: IPAddress, allowed: AllowList) -> None:
    """Raise ``OutboundBlockedError`` unless ``address`` (reached as ``host``) may be used."""
    if allowed.has_name(host) or allowed.has_address(address):
        return
    reason = refusal_reason(address)
    if reason is None:
        return
    raise OutboundBlockedError(
        f"refusing to connect to {host!r}: {address} is {reason} "
        f"(add the host or address to {ALLOW_SETTING} to allow it)"
    )


def resolve_checked(host: str, port: int, allowed: AllowList) -> list[AddrInfo]:
    """Resolve ``host`` once and return its addresses, all of them checked.

    Every address must pass: a name that answers one public and one private address is
    refused, since the client would be free to use either. A resolver failure is
    ``socket.gaierror`` (the caller's library maps it as it always has).
    """
    if not host:
        raise OutboundBlockedError("no host given")
    name = host.strip("[]")
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OutboundBlockedError(f"host {host!r} resolved to no address")
    for info in infos:
        ensure_allowed(name, parse_address(str(info[4][0])), allowed)
    return infos


def check_destination(host: str, port: int, extra_allowed: Iterable[str] = ()) -> None:
    """Refuse early a destination the connect-time guard would refuse.

    Only an early, cheap answer (clients with their own retry loops would otherwise retry a
    refusal): it resolves independently, so it is never the check that counts. The guarded
    transports check again, on the socket they open.
    """
    try:
        resolve_checked(host, port, allow_list(extra_allowed))
    except socket.gaierror:
        return  # the transport reports a name that does not resolve, in its own terms
