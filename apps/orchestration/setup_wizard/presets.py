"""The pipeline presets the wizard offers, numbered as the seed numbers them (1-4) plus the
standalone health-check presets (5-6) that start from the checkers, on a beat schedule."""

from __future__ import annotations

from typing import TypedDict


class Preset(TypedDict):
    name: str
    label: str
    description: str
    has_alerts: bool
    has_checkers: bool
    has_intelligence: bool
    standalone: bool


PRESETS: list[Preset] = [
    {
        "name": "direct",
        "label": "Alert → Notify",
        "description": "Direct forwarding",
        "has_alerts": True,
        "has_checkers": False,
        "has_intelligence": False,
        "standalone": False,
    },
    {
        "name": "health-checked",
        "label": "Alert → Checkers → Notify",
        "description": "Health-checked alerts",
        "has_alerts": True,
        "has_checkers": True,
        "has_intelligence": False,
        "standalone": False,
    },
    {
        "name": "ai-analyzed",
        "label": "Alert → Intelligence → Notify",
        "description": "AI-analyzed alerts",
        "has_alerts": True,
        "has_checkers": False,
        "has_intelligence": True,
        "standalone": False,
    },
    {
        "name": "full",
        "label": "Alert → Checkers → Intelligence → Notify",
        "description": "Full pipeline",
        "has_alerts": True,
        "has_checkers": True,
        "has_intelligence": True,
        "standalone": False,
    },
    {
        "name": "scheduled-checks",
        "label": "Checkers → Notify",
        "description": "Scheduled health checks, no alert needed",
        "has_alerts": False,
        "has_checkers": True,
        "has_intelligence": False,
        "standalone": True,
    },
    {
        "name": "scheduled-checks-ai",
        "label": "Checkers → Intelligence → Notify",
        "description": "Scheduled health checks with analysis",
        "has_alerts": False,
        "has_checkers": True,
        "has_intelligence": True,
        "standalone": True,
    },
]

PRESET_NAMES = [preset["name"] for preset in PRESETS]


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` naming the known ones otherwise."""
    for preset in PRESETS:
        if preset["name"] == name:
            return preset
    raise KeyError(f"Unknown preset: {name}. Available: {', '.join(PRESET_NAMES)}")
