"""A real TCP proxy for failure tests: put it between a process and a server, then cut it.

``cut()`` resets every live connection and resets new ones as soon as they arrive, which is
what a client sees when the server behind it restarts or the network drops; ``restore()``
forwards again. The shared PostgreSQL and Redis servers are never touched.

One background thread runs a selector loop over the listener and every forwarded pair;
``cut``/``restore`` are handed to that thread, so no socket is used by two threads.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_TICK = 0.05


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees 'connection reset', as on a crash."""
    with contextlib.suppress(OSError):  # already dead: closing is all that is left to do
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target_host:target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int, *, connect_timeout: float = 2.0):
        self.target = (target_host, target_port)
        self.connect_timeout = connect_timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._commands: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._cut = False
        self._stopping = False
        self.accepted = 0  # connections forwarded
        self.refused = 0  # connections reset while cut
        self._thread = threading.Thread(target=self._loop, name=f"tcpproxy-{self.port}")
        self._thread.daemon = True
        self._thread.start()

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def live_connections(self) -> int:
        return len(self._peers) // 2

    def cut(self) -> None:
        """Reset every live connection; reset new ones until ``restore()``."""
        self._call(self._do_cut)

    def restore(self) -> None:
        """Forward new connections again (the ones cut stay closed, as after a restart)."""
        self._call(self._do_restore)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._do_stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, command: Callable[[], None]) -> None:
        done = threading.Event()
        self._commands.put((command, done))
        if not done.wait(timeout=5):
            raise RuntimeError(f"proxy on port {self.port} did not answer")

    def _do_cut(self) -> None:
        self._cut = True
        for sock in list(self._peers):
            self._drop(sock, reset=True)

    def _do_restore(self) -> None:
        self._cut = False

    def _do_stop(self) -> None:
        self._stopping = True
        for sock in list(self._peers):
            self._drop(sock, reset=True)
        self._selector.unregister(self._listener)
        self._listener.close()

    def _loop(self) -> None:
        while not self._stopping:
            while not self._commands.empty():
                command, done = self._commands.get_nowait()
                command()
                done.set()
            if self._stopping:
                break
            for key, _ in self._selector.select(timeout=_TICK):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                elif sock in self._peers:
                    self._forward(sock)
        self._selector.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._cut:
            self.refused += 1
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
        except OSError as exc:
            logger.warning("proxy %s: upstream %s unreachable (%s)", self.port, self.target, exc)
            _reset(client)
            return
        for sock in (client, upstream):
            # Blocking sends with a bound: a stuck reader drops its pair, not the whole loop.
            sock.settimeout(5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._selector.register(sock, selectors.EVENT_READ)
        self._peers[client] = upstream
        self._peers[upstream] = client
        self.accepted += 1

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(_CHUNK)
            if data:
                self._peers[sock].sendall(data)
                return
        except OSError:
            self._drop(sock, reset=True)
            return
        self._drop(sock, reset=False)  # orderly close: pass it on

    def _drop(self, sock: socket.socket, *, reset: bool) -> None:
        peer = self._peers.pop(sock, None)
        if peer is not None:
            self._peers.pop(peer, None)
        for each in (sock, peer):
            if each is None:
                continue
            with contextlib.suppress(KeyError, ValueError):  # not registered (any more)
                self._selector.unregister(each)
            if reset:
                _reset(each)
            else:
                each.close()
