"""Fixtures for the outbound guard's tests: a loopback listener that records every
connection, a resolver tests can script, and a firewall that keeps test connections on
loopback. Import them into a conftest to use them."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

PUBLIC_IPV4 = "93.184.215.14"  # globally routable; the firewall below never lets a test reach it


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 that accepts, records what the client sent, and closes."""

    sock: socket.socket
    connections: list[bytes] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def serve(self) -> None:
        # A short accept timeout: closing a listening socket does not wake a blocked accept.
        self.sock.settimeout(0.05)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                data = b""
                try:
                    while chunk := conn.recv(65536):
                        data += chunk
                        if b"\r\n\r\n" in data:
                            break
                except OSError:
                    pass
                self.connections.append(data)


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = Listener(sock)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.stopped.set()
    thread.join(timeout=2)
    sock.close()


@dataclass
class Firewall:
    """Every connection attempt's address, and those refused (not loopback) before they left
    the host."""

    attempted: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture
def firewall(monkeypatch: pytest.MonkeyPatch) -> Firewall:
    """Tests here must never connect anywhere but loopback: an attempt is recorded and
    refused, so a test can also assert which address a client tried."""
    wall = Firewall()
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            wall.attempted.append(host)
        if host is not None and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            wall.blocked.append(host)
            raise ConnectionRefusedError(f"test firewall: {host} is not loopback")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return wall


@dataclass
class Resolver:
    """``socket.getaddrinfo`` answering scripted addresses for names under ``.invalid``."""

    answers: Callable[[int], list[str]]
    calls: int = 0


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[int], list[str]]], Resolver]:
    real = socket.getaddrinfo

    def install(answers: Callable[[int], list[str]]) -> Resolver:
        scripted = Resolver(answers)

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
            if not str(host).endswith(".invalid"):
                return real(host, port, family, type, proto, flags)
            scripted.calls += 1
            result = []
            for address in scripted.answers(scripted.calls):
                fam = socket.AF_INET6 if ":" in address else socket.AF_INET
                number = int(port or 0)
                sockaddr = (address, number, 0, 0) if ":" in address else (address, number)
                result.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return result

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return scripted

    return install


def rebinding(first: str, then: str) -> Callable[[int], list[str]]:
    """A name that answers ``first`` to the first lookup and ``then`` to every later one."""
    return lambda call: [first] if call == 1 else [then]
