"""Reading a webhook body: size limits first, then strict JSON that every database can store."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest


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
    body = request.body
    limit = settings.ALERTS_MAX_BODY_BYTES
    if len(body) > limit:
        raise BodyError(_too_large(limit), 413)
    return body


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
    return value
