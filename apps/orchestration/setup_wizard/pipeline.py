"""The pipeline definition the wizard's answers describe: nodes chained by ``next``.

Every answer lands somewhere the engine reads: checkers and their disk paths, hosts and
process names in the context node (``checker_names``/``checker_options``), provider, model and
base URL in the intelligence node, the channels by name in the notify node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The checker answers the wizard collects, as (answer key, checker, checker option).
CHECKER_ANSWERS = (
    ("disk_paths", "disk", "paths"),
    ("network_hosts", "network", "hosts"),
    ("process_names", "process", "names"),
)
# Statuses a standalone health check notifies about when it notifies only on problems:
# "unknown" too, because a check that could not measure is not a healthy one.
PROBLEM_STATUSES = ["warning", "critical", "unknown"]
DEFAULTS = {"max_retries": 3, "timeout_seconds": 300}


def split_list(text: str) -> list[str]:
    return [item.strip() for item in str(text).split(",") if item.strip()]


def checker_options(checkers: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """``checker_options`` for the context node from the checker answers."""
    enabled = checkers.get("enabled") or []
    options: dict[str, dict[str, list[str]]] = {}
    for answer, checker, option in CHECKER_ANSWERS:
        if checker in enabled and checkers.get(answer):
            options[checker] = {option: split_list(checkers[answer])}
    return options


def intelligence_node_config(intelligence: Mapping[str, Any]) -> dict[str, Any]:
    """The intelligence node's config. API keys stay out of it: they go to ``.env``, so the
    definition (shown in the admin and the API) never carries a secret."""
    config: dict[str, Any] = {"provider": intelligence.get("provider", "local")}
    provider_config = {
        key: intelligence[key] for key in ("model", "base_url") if intelligence.get(key)
    }
    if provider_config:
        config["provider_config"] = provider_config
    return config


def channel_names(config: Mapping[str, Any]) -> list[str]:
    """Every channel the pipeline notifies: the new ones, then the reused ones."""
    names = [channel["name"] for channel in config.get("notify") or [] if channel.get("name")]
    names += [name for name in config.get("reuse_channels") or [] if name not in names]
    return names


def build_pipeline_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The definition's config (version, description, defaults, nodes) for ``config``."""
    preset = config["preset"]
    standalone = bool(preset.get("standalone"))
    nodes: list[dict[str, Any]] = []
    if preset.get("has_alerts", not standalone):
        nodes.append({"id": "ingest_webhook", "type": "ingest", "config": {}})
    if preset.get("has_checkers"):
        checkers = config.get("checkers") or {}
        context: dict[str, Any] = {"checker_names": list(checkers.get("enabled") or [])}
        options = checker_options(checkers)
        if options:
            context["checker_options"] = options
        node: dict[str, Any] = {"id": "check_health", "type": "context", "config": context}
        if not standalone:
            # Checks enrich an alert; failing to gather them must not hold its notification.
            node["required"] = False
        nodes.append(node)
    schedule = config.get("schedule") or {}
    if standalone and schedule.get("notify_when", "problems") == "problems":
        nodes.append(
            {
                "id": "only_on_problems",
                "type": "condition",
                "config": {
                    "if": {"path": "check_health.status", "op": "in", "value": PROBLEM_STATUSES}
                },
            }
        )
    if preset.get("has_intelligence"):
        nodes.append(
            {
                "id": "analyze_incident" if not standalone else "analyze_checks",
                "type": "intelligence",
                "config": intelligence_node_config(config.get("intelligence") or {}),
                # Without an analysis the notification still says what happened.
                "required": False,
            }
        )
    names = channel_names(config)
    nodes.append(
        {"id": "notify_channels", "type": "notify", "config": {"channels": names} if names else {}}
    )
    for current, following in zip(nodes, nodes[1:], strict=False):
        if current["type"] == "condition":
            current["config"]["then"] = following["id"]  # else: the run ends, nothing to say
        else:
            current["next"] = following["id"]
    return {
        "version": "1.0",
        "description": f"Setup wizard: {preset['name']} ({preset.get('label', '')})",
        "defaults": dict(DEFAULTS),
        "nodes": nodes,
    }


def describe_chain(pipeline_config: Mapping[str, Any]) -> str:
    """``ingest_webhook (ingest) → check_health (context) → ...`` in node order."""
    nodes = pipeline_config.get("nodes") if isinstance(pipeline_config, Mapping) else None
    if not isinstance(nodes, list) or not nodes:
        return "(no nodes)"
    return " → ".join(
        f"{node.get('id', '?')} ({node.get('type', '?')})"
        for node in nodes
        if isinstance(node, Mapping)
    )


def node_of_type(pipeline_config: Mapping[str, Any], node_type: str) -> dict[str, Any] | None:
    nodes = pipeline_config.get("nodes") if isinstance(pipeline_config, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("type") == node_type:
            return node
    return None


def checkers_of(pipeline_config: Mapping[str, Any]) -> list[str]:
    node = node_of_type(pipeline_config, "context")
    names = ((node or {}).get("config") or {}).get("checker_names")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def channels_of(pipeline_config: Mapping[str, Any]) -> list[str]:
    node = node_of_type(pipeline_config, "notify")
    names = ((node or {}).get("config") or {}).get("channels")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
