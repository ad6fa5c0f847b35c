"""Opening a TCP connection through the guard: resolve once, check, connect to what was checked.

This replaces ``socket.create_connection`` in every transport. The name is resolved here and
nowhere else, every address is checked before any is tried (a SYN to an internal port is
already a probe), the socket connects to a checked numeric address, and the peer of the
connected socket is checked once more. TLS is layered on top by the caller with the original
host name, so certificate verification and SNI are unchanged.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from typing import Any

from apps.outbound.addresses import (
    AllowList,
    allow_list,
    ensure_allowed,
    parse_address,
    resolve_checked,
)

SocketOption = tuple[int, int, int | bytes]


def open_socket(
    host: str,
    port: int,
    timeout: Any = None,
    *,
    source_address: tuple[str, int] | None = None,
    socket_options: Sequence[SocketOption] | None = None,
    extra_allowed: Iterable[str] = (),
) -> socket.socket:
    """A connected socket to ``host``:``port`` that the guard allowed.

    ``timeout`` is seconds or None (blocking); any other value (a library's "default"
    sentinel) leaves the socket's default. Raises ``OutboundBlockedError`` for a refused
    destination, ``socket.gaierror`` when the name does not resolve and ``OSError`` (including
    ``TimeoutError``) when no address accepts the connection.
    """
    allowed = allow_list(extra_allowed)
    infos = resolve_checked(host, port, allowed)
    last_error: OSError | None = None
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            if timeout is None or _is_seconds(timeout):
                sock.settimeout(timeout)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            _check_peer(sock, host, allowed)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last_error or OSError(f"cannot connect to {host!r}")


def _check_peer(sock: socket.socket, host: str, allowed: AllowList) -> None:
    # The address the kernel actually connected to, whatever any resolver said.
    ensure_allowed(host.strip("[]"), parse_address(str(sock.getpeername()[0])), allowed)


def _is_seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
