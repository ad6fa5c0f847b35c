"""A notification receiver on 127.0.0.1 that counts what each run delivered.

It honours ``Idempotency-Key`` the way idempotent APIs do (a repeated key is answered but
not acted on again), so a test can tell the raw requests (what crossed the wire) from the
effective deliveries (what a receiver that honours the key acted on). ``hold_next()`` keeps
the next request's answer back until ``release()``: a send is then in flight for as long as
the test wants (to kill its worker meanwhile).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CountingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: dict[str, int] = defaultdict(int)
        self.keys: dict[str, set[str]] = defaultdict(set)
        self.first_at: dict[str, float] = {}
        self._hold = threading.Event()
        self._holding = threading.Event()
        self._release = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink._record(body, self.headers.get("Idempotency-Key", ""))
                if sink._hold.is_set():
                    sink._hold.clear()
                    sink._holding.set()
                    sink._release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender died while we held its answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def _record(self, body: bytes, key: str) -> None:
        run_id = json.loads(body).get("context", {}).get("run_id", "?")
        with self.lock:
            self.raw[run_id] += 1
            self.keys[run_id].add(key)
            self.first_at.setdefault(run_id, time.time())

    def effective(self, run_id: str) -> int:
        """Deliveries a receiver honouring Idempotency-Key acted on."""
        with self.lock:
            return len(self.keys.get(run_id, ()))

    def hold_next(self) -> None:
        self._release.clear()
        self._holding.clear()
        self._hold.set()

    def wait_holding(self, timeout: float) -> bool:
        return self._holding.wait(timeout)

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()
