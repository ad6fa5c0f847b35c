"""Real network endpoints and a stand-in ``ping`` for the checker tests."""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections; yields its port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def unanswering_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose accept queue is full, so a new connect waits for its timeout.

    With backlog 0 the kernel completes one handshake and then drops further SYNs; that is
    a host that does not answer, without depending on how the outside network behaves.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    yield port
    filler.close()
    server.close()


def _script(directory: Path, body: str) -> Path:
    path = directory / "ping"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def no_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH holds no ``ping`` binary."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def answering_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``ping`` that prints one iputils-style reply of 0.42 ms and records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    args_file = tmp_path / "ping-args"
    _script(
        bin_dir,
        f'printf "%s " "$@" > {args_file}\n'
        'echo "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.42 ms"\n',
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    return args_file


@pytest.fixture
def silent_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``ping`` whose host never answers (exit status 1, like iputils)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, 'echo "1 packets transmitted, 0 received, 100% packet loss"\nexit 1\n')
    monkeypatch.setenv("PATH", str(bin_dir))
