"""What providers produce: recommendations, and the analysis that carries them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
_PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}


def priority_rank(priority: str) -> int:
    """Sort key: critical first; unknown priorities last."""
    return _PRIORITY_RANK.get(priority, len(PRIORITIES))


@dataclass
class Recommendation:
    """One finding and what to do about it."""

    type: str
    priority: str
    title: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.priority not in _PRIORITY_RANK:
            raise ValueError(f"Unknown priority: {self.priority}. Available: {list(PRIORITIES)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "priority": self.priority,
            "title": self.title,
            "description": self.description,
            "details": self.details,
            "actions": list(self.actions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(
            type=str(data.get("type") or "analysis"),
            priority=str(data["priority"]),
            title=str(data["title"]),
            description=str(data.get("description") or ""),
            details=dict(data.get("details") or {}),
            actions=[str(a) for a in data.get("actions") or []],
        )


@dataclass
class Analysis:
    """A provider's answer: recommendations plus how they were obtained.

    Iterating an ``Analysis`` yields its recommendations, so callers that only want the list
    can treat it as one. ``exchange`` holds the (redacted) prompt and reply of AI providers.
    """

    provider: str
    recommendations: list[Recommendation] = field(default_factory=list)
    summary: str = ""
    provider_used: str = ""
    model: str | None = None
    fallback_used: bool = False
    fallback_reason: str | None = None
    error: dict[str, Any] | None = None
    exchange: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    tokens_used: int = 0

    def __post_init__(self) -> None:
        self.provider_used = self.provider_used or self.provider

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.recommendations)

    def __len__(self) -> int:
        return len(self.recommendations)

    def to_dict(self) -> dict[str, Any]:
        recs = [r.to_dict() for r in self.recommendations]
        first = recs[0] if recs else {}
        return {
            "provider": self.provider,
            "provider_used": self.provider_used,
            "model": self.model,
            "recommendations": recs,
            "count": len(recs),
            "summary": self.summary or first.get("title") or "No issues found",
            "description": first.get("description", ""),
            "fallback_used": self.fallback_used,
            "fallback_reason": self.fallback_reason,
            "error": self.error,
            "exchange": self.exchange,
            "usage": self.usage,
            "tokens_used": self.tokens_used,
        }
