"""The one outbound guard: every HTTP and SMTP connection the product makes goes through it.

Definitions, channels and provider configs name URLs and hosts; without a guard they could
make a worker probe internal services or cloud metadata endpoints, or carry a server-held key
to a place the author chose. The guard has two layers:

- ``urls``: at validation (and again before sending), a URL or host must be unambiguous:
  http(s) only, no backslash, no ``user@``, no percent-encoding, a canonical host name or IP.
  Different parsers then cannot read different hosts out of it.
- ``addresses`` + ``connect``: at connect time, on the socket actually opened, the name is
  resolved once, every address is classified (IPv4 embedded in IPv6 unwrapped first), and the
  socket connects to the checked address only, so DNS cannot answer differently in between.

The transports plug the second layer into each client library: ``transports.guarded_session``
(requests/urllib3), ``transports.guarded_httpx_client`` (httpx, the openai and anthropic SDKs)
and ``smtp.GuardedSMTP``/``GuardedSMTPSSL`` (smtplib). ``OUTBOUND_ALLOWED_HOSTS`` (and the
older ``NOTIFY_ALLOWED_HOSTS``) lists exceptions: host names, IP addresses or CIDR networks.
"""

from apps.outbound.addresses import OutboundBlockedError, check_destination
from apps.outbound.urls import host_problems, url_problems

__all__ = ["OutboundBlockedError", "check_destination", "host_problems", "url_problems"]
