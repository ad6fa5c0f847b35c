"""Small formatting helpers shared by checkers."""

from __future__ import annotations


def gib(n_bytes: float) -> float:
    return round(n_bytes / 1024**3, 2)
