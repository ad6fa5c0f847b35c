"""smtplib clients whose connection is opened through the guard.

``SMTP._get_socket`` is smtplib's hook for "open the TCP connection" (``SMTP_SSL`` wraps its
result in TLS with the host name the caller gave, as ``starttls`` does later), so overriding
it guards plain, implicit-TLS and STARTTLS connections alike without touching certificate
checks.
"""

from __future__ import annotations

import smtplib
import socket
from typing import Any

from apps.outbound.connect import open_socket


class GuardedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` connecting only where the guard allows."""

    def _get_socket(self, host: str, port: int, timeout: Any) -> socket.socket:
        if timeout is not None and not timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return open_socket(host, port, timeout, source_address=self.source_address or None)


class GuardedSMTPSSL(smtplib.SMTP_SSL, GuardedSMTP):
    """``smtplib.SMTP_SSL`` (implicit TLS) over a guarded socket: its ``_get_socket`` calls
    ``GuardedSMTP._get_socket`` through ``super()`` and wraps the result in TLS."""
