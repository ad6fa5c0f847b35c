"""Built-in pipelines: what runs when a webhook or the CLI names no definition."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from apps.orchestration.models import PipelineDefinition

DEFAULT_ALERT_PIPELINE_NAME = "default-alert-pipeline"
CHECKS_ONLY_PIPELINE_NAME = "checks-only"

DEFAULT_ALERT_PIPELINE: dict[str, Any] = {
    "version": "1.0",
    "description": "Built-in: ingest the alert, gather context, analyse locally, notify",
    "defaults": {"max_retries": 3, "timeout_seconds": 120},
    "nodes": [
        {"id": "ingest", "type": "ingest", "config": {}, "next": "context"},
        {
            "id": "context",
            "type": "context",
            "config": {"include": ["cpu", "memory", "disk"], "checker_names": ["memory", "disk"]},
            "next": "analyze",
            "required": False,
        },
        {
            "id": "analyze",
            "type": "intelligence",
            "config": {"provider": "local"},
            "next": "notify",
        },
        {"id": "notify", "type": "notify", "config": {}},
    ],
}

CHECKS_ONLY_PIPELINE: dict[str, Any] = {
    "version": "1.0",
    "description": "Built-in: run the health checks, analyse them locally, notify",
    "defaults": {"max_retries": 2, "timeout_seconds": 120},
    "nodes": [
        {
            "id": "context",
            "type": "context",
            "config": {
                "include": ["cpu", "memory", "disk", "processes"],
                "checker_names": ["cpu", "memory", "disk", "load", "swap", "inodes"],
            },
            "next": "analyze",
        },
        {
            "id": "analyze",
            "type": "intelligence",
            "config": {"provider": "local"},
            "next": "notify",
        },
        {"id": "notify", "type": "notify", "config": {}},
    ],
}


def builtin(name: str, config: dict[str, Any]) -> PipelineDefinition:
    """An unsaved definition: runs record its name and a frozen copy of its config."""
    return PipelineDefinition(name=name, config=copy.deepcopy(config), version=1)


def default_alert_definition(source: str | None = None) -> PipelineDefinition | None:
    """The definition for alerts that name none: the source's configured default
    (``ALERTS_SOURCE_PIPELINES``), else ``ALERTS_DEFAULT_PIPELINE``, else the built-in one.
    None when a configured name does not exist or is inactive."""
    for name in (
        settings.ALERTS_SOURCE_PIPELINES.get(source or ""),
        settings.ALERTS_DEFAULT_PIPELINE,
    ):
        if name:
            return PipelineDefinition.objects.filter(name=name, is_active=True).first()
    return builtin(DEFAULT_ALERT_PIPELINE_NAME, DEFAULT_ALERT_PIPELINE)


def checks_only_definition() -> PipelineDefinition:
    return builtin(CHECKS_ONLY_PIPELINE_NAME, CHECKS_ONLY_PIPELINE)
