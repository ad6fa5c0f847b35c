"""Dotted-path lookups into node outputs (``"context.system.cpu.percent"``, ``"items.0.id"``)."""

from __future__ import annotations

from typing import Any

MISSING = object()


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """Follow ``path`` through dicts (by key) and lists (by index); ``default`` if it breaks."""
    if not path:
        return data
    current = data
    for key in path.split("."):
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.lstrip("-").isdigit():
            index = int(key)
            if -len(current) <= index < len(current):
                current = current[index]
            else:
                return default
        else:
            return default
    return current
