"""Strict JSON in: what the database cannot store is refused here with a 400, not a 500.

- ``NaN``/``Infinity`` (and numbers too large for a double, which parse as infinity): jsonb
  has no such values;
- NUL (``\\u0000``) in any string or key: PostgreSQL text and jsonb refuse it;
- nesting deeper than ``API_MAX_JSON_DEPTH``: the parser and the database driver recurse per
  level, and no definition or payload needs more than a few dozen.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use null or a finite number)")


def check_json(value: Any, max_depth: int | None = None, where: str = "body") -> None:
    """``ParseError`` if ``value`` holds a NUL, a non-finite number or nests too deep."""
    limit = max_depth or settings.API_MAX_JSON_DEPTH
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                raise ParseError(f"JSON {where} is nested deeper than {limit} levels")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and "\x00" in key:
                    raise ParseError(f"JSON {where} has a NUL character (\\u0000) in a key")
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            if "\x00" in item:
                raise ParseError(f"JSON {where} has a NUL character (\\u0000) in a string")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ParseError(f"JSON {where} has a number too large to store")


def loads(data: bytes | str) -> Any:
    """Parse JSON strictly; ``ParseError`` with the reason for anything unusable."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise ParseError(f"JSON parse error: the body is not UTF-8 ({exc.reason})") from None
    except RecursionError:
        raise ParseError("JSON parse error: nested too deeply") from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error: {exc}") from None
    check_json(value)
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return loads(stream.read() if stream is not None else b"")
