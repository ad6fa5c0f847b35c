"""Secrets inside pipeline definitions: masked wherever a config is shown, restored on save.

A notify node's inline ``driver_config`` (webhook URLs whose path or query is the token,
header values, routing keys, SMTP passwords) is masked by its driver's own ``masked_config``;
an intelligence node's ``provider_config.api_key`` becomes ``MASK``. A write that sends a
masked value back unchanged keeps the stored secret (``restore_config``); a value that still
holds the mask after that (a masked URL edited by hand) is refused by ``leftover_masks``,
because storing ``****`` would silently break the channel.

The admin uses the same three functions, so every place a definition is shown agrees.
"""

from __future__ import annotations

import copy
from typing import Any

from apps.notify.drivers.base import MASK

SECRET_PROVIDER_KEYS = ("api_key",)


def _driver(name: Any) -> Any:
    from apps.notify.drivers import DRIVER_REGISTRY

    return DRIVER_REGISTRY[name]() if isinstance(name, str) and name in DRIVER_REGISTRY else None


def _nodes(config: Any) -> list[dict[str, Any]]:
    if not isinstance(config, dict) or not isinstance(config.get("nodes"), list):
        return []
    return [n for n in config["nodes"] if isinstance(n, dict) and isinstance(n.get("config"), dict)]


def _mask_driver_config(node_config: dict[str, Any]) -> None:
    inline = node_config.get("driver_config")
    if not isinstance(inline, dict):
        if inline not in (None, "", {}):
            node_config["driver_config"] = MASK
        return
    driver = _driver(node_config.get("driver"))
    if driver is None:
        # No driver to say which keys are secret: show none of the values.
        node_config["driver_config"] = {key: MASK for key in inline}
    else:
        node_config["driver_config"] = driver.masked_config(inline)


def _mask_provider_config(node_config: dict[str, Any]) -> None:
    provider = node_config.get("provider_config")
    if isinstance(provider, dict):
        for key in SECRET_PROVIDER_KEYS:
            if provider.get(key) not in (None, ""):
                provider[key] = MASK


def mask_config(config: Any) -> Any:
    """A copy of a pipeline config with every inline secret masked (safe to show or log)."""
    masked = copy.deepcopy(config)
    for node in _nodes(masked):
        _mask_driver_config(node["config"])
        _mask_provider_config(node["config"])
    return masked


def restore_config(submitted: Any, stored: Any) -> Any:
    """``submitted`` with every masked value that is unchanged from what ``mask_config(stored)``
    shows replaced by the stored secret. Nodes are matched by id."""
    result = copy.deepcopy(submitted)
    before = {n.get("id"): n["config"] for n in _nodes(stored) if isinstance(n.get("id"), str)}
    for node in _nodes(result):
        old = before.get(node.get("id")) if isinstance(node.get("id"), str) else None
        if old is None:
            continue
        new = node["config"]
        inline, old_inline = new.get("driver_config"), old.get("driver_config")
        if isinstance(inline, dict) and isinstance(old_inline, dict):
            driver = _driver(new.get("driver"))
            if driver is not None and new.get("driver") == old.get("driver"):
                new["driver_config"] = driver.restore_secrets(inline, old_inline)
            else:
                new["driver_config"] = {
                    k: old_inline[k] if v == MASK and k in old_inline else v
                    for k, v in inline.items()
                }
        elif inline == MASK and old_inline is not None:
            new["driver_config"] = copy.deepcopy(old_inline)
        provider, old_provider = new.get("provider_config"), old.get("provider_config")
        if isinstance(provider, dict) and isinstance(old_provider, dict):
            for key in SECRET_PROVIDER_KEYS:
                if provider.get(key) == MASK and key in old_provider:
                    provider[key] = old_provider[key]
    return result


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


def leftover_masks(config: Any) -> list[str]:
    """Messages for secret fields that still hold the mask: an edited masked value."""
    errors = []
    for index, node in enumerate(_nodes(config)):
        label = node.get("id") if isinstance(node.get("id"), str) else index
        for key in ("driver_config", "provider_config"):
            for path, text in _strings(node["config"].get(key), key):
                if MASK in text:
                    errors.append(
                        f"Node {label}: {path} still contains the mask {MASK!r}; send the "
                        "stored value unchanged (as shown) to keep it, or the full new value"
                    )
    return errors


def masked_channel_config(driver: str, config: Any) -> dict[str, Any]:
    found = _driver(driver)
    if found is None or not isinstance(config, dict):
        return {}
    return found.masked_config(config)


def channel_leftover_masks(config: Any) -> list[str]:
    return [
        f"config{path} still contains the mask {MASK!r}; send the stored value unchanged "
        "(as shown) to keep it, or the full new value"
        for path, text in _strings(config, "")
        if MASK in text
    ]
