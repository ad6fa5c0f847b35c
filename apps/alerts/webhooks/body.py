"""Reading a webhook body: size limits first, then strict JSON that every database can store.

Strict means: UTF-8, no NaN/Infinity, no string PostgreSQL's jsonb cannot hold (NUL, lone
surrogates: refused with 400 rather than silently altered, so what is stored is what was
sent), and no deeper nesting than ``ALERTS_MAX_JSON_DEPTH`` (psycopg's encoder recurses, and
a body nested ~930 deep parses but cannot be stored).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from gunicorn.http.errors import ParseException


class BodyError(Exception):
    """The body cannot be accepted; ``status`` is the HTTP answer (400 or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def declared_length(request: HttpRequest) -> int:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise BodyError(f"invalid Content-Length: {raw[:40]!r}") from None
    if length < 0:
        raise BodyError(f"invalid Content-Length: {length}")
    return length


def check_declared_size(request: HttpRequest) -> None:
    """Refuse an oversized body before reading a byte of it."""
    limit = settings.ALERTS_MAX_BODY_BYTES
    if declared_length(request) > limit:
        raise BodyError(_too_large(limit), 413)


def read_body(request: HttpRequest) -> bytes:
    limit = settings.ALERTS_MAX_BODY_BYTES
    body = _read_chunked(request, limit) if _is_chunked(request) else request.body
    if len(body) > limit:
        raise BodyError(_too_large(limit), 413)
    return body


def _is_chunked(request: HttpRequest) -> bool:
    # Django reads exactly Content-Length bytes, so a chunked body (no Content-Length) looks
    # empty to it; gunicorn hands the decoded chunks over as wsgi.input, read here instead.
    coding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in coding and not request.META.get("CONTENT_LENGTH")


def _read_chunked(request: HttpRequest, limit: int) -> bytes:
    """The decoded chunked body, read until its end or one byte past ``limit``."""
    stream = request.environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            part = stream.read(min(65536, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except (OSError, ParseException) as exc:
        # A malformed chunk size or a connection cut mid-body: the sender's fault.
        raise BodyError(f"the chunked body could not be read: {type(exc).__name__}") from None
    return b"".join(parts)


def _too_large(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes (ALERTS_MAX_BODY_BYTES)"


def _reject_constant(name: str) -> Any:
    raise BodyError(f"malformed JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BodyError(f"malformed JSON: number {text[:40]} is out of range")
    return value


def _storable(value: Any) -> None:
    """Refuse strings PostgreSQL's jsonb cannot hold (NUL, unpaired surrogates)."""
    stack = [value]
    while stack:  # iterative: the depth is bounded by the parser, not by this walk
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise BodyError("malformed JSON: strings must not contain NUL (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyError(
                    "malformed JSON: strings must not contain unpaired surrogates"
                ) from None


def parse_json(body: bytes) -> Any:
    """The decoded body. Strict: UTF-8 only, no NaN/Infinity, nothing jsonb would refuse."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"malformed JSON: the body is not UTF-8 ({exc.reason})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise BodyError("malformed JSON: nested too deeply") from None
    except BodyError:
        raise
    except ValueError as exc:  # JSONDecodeError, and ints longer than Python converts
        raise BodyError(f"malformed JSON: {exc}") from None
    # NUL and lone surrogates can only arrive as \u escapes (the text is strict UTF-8 and
    # JSON forbids raw control characters), so most bodies skip the extra pass.
    if "\\u" in text:
        _storable(value)
    # A value cannot be nested deeper than it has brackets: most bodies skip the walk.
    limit = settings.ALERTS_MAX_JSON_DEPTH
    if text.count("[") + text.count("{") > limit:
        _check_depth(value, limit)
    return value


def _check_depth(value: Any, limit: int) -> None:
    """Refuse ``value`` if its arrays and objects nest deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: the point is not to recurse as deep as the body goes
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise BodyError(
                f"malformed JSON: nested deeper than {limit} levels (ALERTS_MAX_JSON_DEPTH)"
            )
        stack.extend((child, depth + 1) for child in children)
