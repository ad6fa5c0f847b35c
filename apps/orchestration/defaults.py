"""Built-in pipelines: what runs when a webhook or the CLI names no definition."""

from __future__ import annotations

import copy
import functools
from typing import Any

from django.conf import settings

from apps.orchestration.models import PipelineDefinition

DEFAULT_ALERT_PIPELINE_NAME = "default-alert-pipeline"
HEALTH_CHECK_PIPELINE_NAME = "health-check"
# The name `run_pipeline --checks-only` recorded before `health-check` existed; still resolves.
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

HEALTH_CHECK_PIPELINE: dict[str, Any] = {
    "version": "1.0",
    "description": "Built-in standalone health check: gather this host's metrics and run the "
    "health checks, analyse them with the local rules, notify (schedule it with "
    "`schedule_pipeline health-check --every 5m`)",
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


CHECKS_ONLY_PIPELINE = HEALTH_CHECK_PIPELINE

# Listed by the API, readable and executable by name; a saved definition may not take a name.
BUILTINS: dict[str, dict[str, Any]] = {
    DEFAULT_ALERT_PIPELINE_NAME: DEFAULT_ALERT_PIPELINE,
    HEALTH_CHECK_PIPELINE_NAME: HEALTH_CHECK_PIPELINE,
}
RESERVED_NAMES = (*BUILTINS, CHECKS_ONLY_PIPELINE_NAME)


def builtin(name: str, config: dict[str, Any]) -> PipelineDefinition:
    """An unsaved definition: runs record its name and a frozen copy of its config."""
    definition = PipelineDefinition(name=name, config=copy.deepcopy(config), version=1)
    definition.description = str(config.get("description", ""))
    definition.created_by = "built-in"
    return definition


def builtin_definition(name: str) -> PipelineDefinition | None:
    """The built-in definition called ``name`` (unsaved), or None."""
    if name == CHECKS_ONLY_PIPELINE_NAME:
        return builtin(HEALTH_CHECK_PIPELINE_NAME, HEALTH_CHECK_PIPELINE)
    config = BUILTINS.get(name)
    return builtin(name, config) if config is not None else None


def resolve_definition(name: str, *, active_only: bool = True) -> PipelineDefinition | None:
    """A saved definition by name, else the built-in of that name, else None."""
    qs = PipelineDefinition.objects.filter(name=name)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.first() or builtin_definition(name)


def is_builtin(definition: PipelineDefinition) -> bool:
    return definition.pk is None and definition.name in BUILTINS


def default_alert_definition(
    source: str | None = None, *, shared: bool = False
) -> PipelineDefinition | None:
    """The definition for alerts that name none: the source's configured default
    (``ALERTS_SOURCE_PIPELINES``), else ``ALERTS_DEFAULT_PIPELINE``, else the built-in one.
    None when a configured name does not exist or is inactive.

    ``shared=True`` returns the built-in as one instance for the whole process (see
    ``shared_builtin``): for callers that only read it, such as the webhook."""
    for name in (
        settings.ALERTS_SOURCE_PIPELINES.get(source or ""),
        settings.ALERTS_DEFAULT_PIPELINE,
    ):
        if name:
            return PipelineDefinition.objects.filter(name=name, is_active=True).first()
    if shared:
        return shared_builtin(DEFAULT_ALERT_PIPELINE_NAME)
    return builtin(DEFAULT_ALERT_PIPELINE_NAME, DEFAULT_ALERT_PIPELINE)


@functools.cache
def shared_builtin(name: str) -> PipelineDefinition:
    """One unsaved instance of a built-in per process, never to be modified: a webhook
    would otherwise deep-copy the config for every delivery. ``is_shared`` tells it apart."""
    definition = builtin(name, BUILTINS[name])
    definition.shared_builtin = True  # type: ignore[attr-defined]
    return definition


def is_shared(definition: PipelineDefinition) -> bool:
    return getattr(definition, "shared_builtin", False)


def checks_only_definition() -> PipelineDefinition:
    """What ``run_pipeline --checks-only`` runs: the ``health-check`` built-in."""
    return builtin(HEALTH_CHECK_PIPELINE_NAME, HEALTH_CHECK_PIPELINE)
