"""Placeholder replaced by the options declarations."""

from __future__ import annotations

from typing import Any


def driver_schemas() -> dict[str, Any]:
    return {}
