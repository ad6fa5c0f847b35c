"""The options of every driver, provider and checker as JSON Schema, from their models."""

from __future__ import annotations

from typing import Any

from apps.options import json_schema


def driver_schemas() -> dict[str, Any]:
    from apps.notify.drivers import DRIVER_REGISTRY

    return {name: cls.config_schema() for name, cls in DRIVER_REGISTRY.items()}


def provider_schemas() -> dict[str, Any]:
    from apps.intelligence.providers import PROVIDERS

    return {name: json_schema(cls.Options) for name, cls in PROVIDERS.items()}


def checker_schemas() -> dict[str, Any]:
    from apps.checkers.checkers import CHECKER_REGISTRY

    return {name: json_schema(cls.Options) for name, cls in CHECKER_REGISTRY.items()}
