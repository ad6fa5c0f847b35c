"""Choose the channels a notify node sends to, and send through the delivery ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apps.notify import ledger
from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import NotificationMessage
from apps.notify.models import NotificationChannel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A destination: a stored channel, or an inline one from a node's ``driver_config``."""

    name: str
    driver: str
    config: dict[str, Any]


def requested_drivers(config: dict[str, Any]) -> list[str]:
    """The node's ``driver`` and ``drivers``, in order, without repeats."""
    names: list[str] = []
    if isinstance(config.get("driver"), str) and config["driver"]:
        names.append(config["driver"])
    drivers = config.get("drivers")
    if isinstance(drivers, list):
        names.extend(d for d in drivers if isinstance(d, str))
    return list(dict.fromkeys(names))


def select_targets(config: dict[str, Any]) -> tuple[list[Target], list[str]]:
    """Targets for a notify node config, and problems (unknown or inactive channel names).

    ``channels`` names stored channels; ``driver_config`` adds an inline channel of
    ``driver``; otherwise ``driver``/``drivers`` pick every active channel of those drivers;
    with none of these, every active channel is used.
    """
    problems: list[str] = []
    targets: list[Target] = []
    drivers = requested_drivers(config)
    names = [n for n in config.get("channels") or [] if isinstance(n, str)]
    inline = config.get("driver_config")

    if names:
        found = {c.name: c for c in NotificationChannel.objects.filter(name__in=names)}
        for name in names:
            channel = found.get(name)
            if channel is None:
                problems.append(f"no notification channel named {name!r}")
            elif not channel.is_active:
                problems.append(f"notification channel {name!r} is inactive")
            else:
                targets.append(Target(channel.name, channel.driver, channel.config))
    if isinstance(inline, dict) and drivers:
        targets.append(Target(f"inline:{drivers[0]}", drivers[0], inline))
    if not names and not isinstance(inline, dict):
        channels = NotificationChannel.objects.filter(is_active=True)
        if drivers:
            channels = channels.filter(driver__in=drivers)
        targets.extend(Target(c.name, c.driver, c.config) for c in channels.order_by("name"))
    return targets, problems


def deliver(
    target: Target, message: NotificationMessage, *, run_id: str, node_id: str
) -> dict[str, Any]:
    """Send to one target at most once for (run, node, channel); the delivery record.

    ``status`` is ``sent``, ``already_sent`` (an earlier attempt sent it), ``in_progress``
    (another attempt holds the claim) or ``failed`` with ``retryable`` set.
    """
    record: dict[str, Any] = {
        "channel": target.name,
        "driver": target.driver,
        "status": "failed",
        "error": "",
        "retryable": False,
    }
    if target.driver not in DRIVER_REGISTRY:
        record["error"] = f"unknown driver {target.driver!r}"
        return record
    driver = get_driver(target.driver)
    # Validate before claiming: a config an operator fixes later can still be sent.
    config_errors = driver.validate_config(target.config)
    if config_errors:
        record["error"] = "invalid config: " + "; ".join(config_errors)
        return record

    claim = ledger.claim(run_id, node_id, target.name, target.driver)
    if not claim.owned:
        row = claim.delivery
        if row.status == "sent":
            record.update(status="already_sent")
        elif row.status == "failed":
            record.update(error=row.error, retryable=False)
        else:
            record.update(status="in_progress", error=claim.reason, retryable=True)
        return record

    try:
        outcome = driver.send(message, target.config)
    except (NotifyError, NotifyConfigError) as exc:
        retryable = isinstance(exc, NotifyError) and exc.retryable
        ledger.mark_failed(claim.delivery, str(exc), retryable=retryable)
        logger.warning("notify %s (%s) failed: %s", target.name, target.driver, exc)
        record.update(error=str(exc), retryable=retryable)
        return record
    except Exception as exc:
        # An unexpected driver bug: keep the ledger truthful, then let it surface.
        ledger.mark_failed(claim.delivery, f"{type(exc).__name__}: {exc}", retryable=False)
        raise
    response = dict(outcome.summary)
    if outcome.external_id:
        response["external_id"] = outcome.external_id
    ledger.mark_sent(claim.delivery, response)
    logger.info("notify %s (%s) sent", target.name, target.driver)
    record.update(status="sent")
    return record
