"""Validation of outbound URLs and hosts: only forms every parser reads the same way.

The connect-time guard makes a misread URL harmless, but a URL that two parsers read
differently (``http://127.0.0.1:80\\@allowed.example/``: ``urlsplit`` sees the host after the
``@``, urllib3 the one before) is refused when it is saved, with a message saying why, instead
of surprising anyone at send time. Messages are predicates that follow the field name
("webhook_url must not contain a backslash").
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from urllib3.util import parse_url

SCHEMES = ("http", "https")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_FORBIDDEN = {"\\": "a backslash (\\)", "%": "percent-encoding (%)"}


def host_problems(host: str) -> list[str]:
    """Problems with ``host`` as a destination: a DNS name, a dotted-quad IPv4 address or an
    IPv6 address in brackets, written canonically (``0x7f.1``, ``017700000001``, ``127.1``
    and a trailing dot are refused: resolvers expand them to addresses nobody typed)."""
    if not host:
        return ["has no host"]
    if host.startswith("[") and host.endswith("]"):
        return _ipv6_problems(host[1:-1])
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in host):
        return [f"host {host!r} contains whitespace or control characters"]
    if not host.isascii():
        return [f"host {host!r} is not ASCII: write an internationalised name in its xn-- form"]
    for char, name in _FORBIDDEN.items():
        if char in host:
            return [f"host {host!r} must not contain {name}"]
    lowered = host.lower()
    if lowered.endswith("."):
        return [f"host {host!r} must not end with a dot"]
    labels = lowered.split(".")
    if labels[-1][:1].isalpha():
        if len(lowered) > 253 or not all(_LABEL.match(label) for label in labels):
            return [f"host {host!r} is not a valid host name"]
        return []
    # A name whose last label does not start with a letter can only be an IPv4 address
    # (no top-level domain starts with a digit); only the canonical dotted quad is accepted.
    try:
        ipaddress.IPv4Address(lowered)
    except ValueError:
        return [
            f"host {host!r} is neither a host name nor an IPv4 address in dotted-decimal form "
            "(a.b.c.d, no leading zeros, hex or octal)"
        ]
    return []


def _ipv6_problems(text: str) -> list[str]:
    if "%" in text:
        return [f"IPv6 host [{text}] must not carry a zone id"]
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return [f"host [{text}] is not a valid IPv6 address"]
    return []


def url_problems(url: object) -> list[str]:
    """Problems with ``url`` as an outbound http(s) target (empty when it is acceptable)."""
    if not isinstance(url, str) or not url.strip():
        return ["must be a non-empty URL"]
    url = url.strip()
    if "\\" in url:
        return ["must not contain a backslash (\\): URL parsers disagree about where its host ends"]
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return ["must not contain whitespace or control characters"]
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # unbalanced brackets, NFKC tricks in the host
        return [f"is not a valid URL ({exc}): {url!r}"]
    if parts.scheme.lower() not in SCHEMES:
        return [f"must be an http:// or https:// URL, got {url!r}"]
    if "@" in parts.netloc:
        return ["must not contain credentials (user@host): send them in a header instead"]
    if not parts.netloc:
        return [f"has no host: {url!r}"]
    host = _raw_host(parts.netloc)
    problems = host_problems(host)
    if problems:
        return problems
    try:
        port = parts.port
    except ValueError:
        return [f"has an invalid port: {url!r}"]
    if port == 0:
        return [f"has an invalid port: {url!r}"]
    if not _parsers_agree(url, parts.hostname or ""):
        return [f"is read differently by different URL parsers: {url!r}"]
    return []


def _raw_host(netloc: str) -> str:
    if netloc.startswith("["):
        end = netloc.find("]")
        return netloc[: end + 1] if end != -1 else netloc
    return netloc.rpartition(":")[0] if ":" in netloc else netloc


def _parsers_agree(url: str, hostname: str) -> bool:
    # urllib3 (under requests) is the parser that decides where a notification goes.
    try:
        theirs = parse_url(url).host or ""
    except ValueError:
        return False
    return theirs.lower().strip("[]") == hostname.lower().strip("[]")
