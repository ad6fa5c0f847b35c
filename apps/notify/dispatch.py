"""Choose the channels a notify node sends to, and send through the delivery ledger."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

from apps.monitoring import metrics
from apps.notify import ledger
from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.models import NotificationChannel
from project import rows

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
        wanted = set(drivers)
        targets.extend(t for t in active_channels() if not wanted or t.driver in wanted)
    return targets, problems


def active_channels() -> list[Target]:
    """Every active channel, by name: what a notify node without ``channels`` sends to (one
    statement, written once: every notify node asks)."""
    found = rows.values(
        NotificationChannel,
        ("name", "driver", "config"),
        "{is_active} = %s",
        [True],
        order="{name}",
    )
    return [Target(c["name"], c["driver"], c["config"]) for c in found]


def deliver(
    target: Target,
    message: NotificationMessage,
    *,
    run_id: str,
    node_id: str,
    owner: str = "",
    node_timeout: float = 300.0,
) -> dict[str, Any]:
    """``_deliver``, counted for /metrics by driver and outcome (the record's status)."""
    record = _deliver(
        target, message, run_id=run_id, node_id=node_id, owner=owner, node_timeout=node_timeout
    )
    driver = target.driver if target.driver in DRIVER_REGISTRY else "unknown"
    metrics.count_notification(driver, record["status"])
    return record


def _deliver(
    target: Target,
    message: NotificationMessage,
    *,
    run_id: str,
    node_id: str,
    owner: str = "",
    node_timeout: float = 300.0,
) -> dict[str, Any]:
    """Send to one target at most once for (run, node, channel); the delivery record.

    ``owner`` is the engine's claim token of the calling execution (the ledger is fenced by
    it). ``status`` is ``sent``, ``already_sent`` (an earlier attempt sent it),
    ``in_progress`` (another live attempt holds the claim), ``unknown`` (the request went
    out and no answer came back) or ``failed``; ``retryable`` says whether the engine should
    try the node again.
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

    owner = owner or f"local:{uuid.uuid4()}"
    claim = ledger.claim(
        run_id, node_id, target.name, target.driver, owner=owner, node_timeout=node_timeout
    )
    row = claim.delivery
    if not claim.owned:
        if row.status == "sent":
            record.update(status="already_sent")
        elif claim.reason == "being sent by another attempt":
            record.update(status="in_progress", error=claim.reason, retryable=True)
        elif row.status in ("unknown", "pending"):
            record.update(status="unknown", error=f"{row.error} ({claim.reason})".strip())
        else:
            record.update(error=row.error or claim.reason)
        return record

    message = replace(message, idempotency_key=row.idempotency_key)
    try:
        outcome = driver.send(message, target.config)
    except NotifyError as exc:
        if exc.ambiguous:
            ledger.mark_unknown(row, str(exc), owner=owner)
            logger.warning("notify %s (%s): outcome unknown: %s", target.name, target.driver, exc)
            error = str(exc)
            if not row.retryable:
                error += (
                    f"; sent {row.attempts} times with the same idempotency key, not sent again"
                )
            record.update(status="unknown", error=error, retryable=row.retryable)
            return record
        ledger.mark_failed(row, str(exc), retryable=exc.retryable, owner=owner)
        logger.warning("notify %s (%s) failed: %s", target.name, target.driver, exc)
        record.update(error=str(exc), retryable=exc.retryable)
        return record
    except NotifyConfigError as exc:
        ledger.mark_failed(row, str(exc), retryable=False, owner=owner)
        record.update(error=str(exc))
        return record
    except BaseException as exc:
        # The node's time limit, or a driver bug, mid-send: the request may be out. Keep the
        # ledger truthful (resendable once, with the same key), then let it surface.
        ledger.mark_unknown(row, f"interrupted mid-send: {type(exc).__name__}: {exc}", owner=owner)
        raise
    response = dict(outcome.summary)
    if outcome.external_id:
        response["external_id"] = outcome.external_id
    ledger.mark_sent(row, response, owner=owner)
    logger.info("notify %s (%s) sent", target.name, target.driver)
    record.update(status="sent")
    return record


TEST_TITLE = "Test notification from alertpipes"
TEST_MESSAGE = "If you can read this, the channel is configured correctly."


def send_test_message(
    driver: str,
    config: dict[str, Any],
    *,
    source: str,
    title: str = TEST_TITLE,
    message: str = TEST_MESSAGE,
    severity: str = "info",
) -> DeliveryResult:
    """One test message straight through a driver (no ledger, no run): what ``test_notify``
    and the admin's and the API's test actions send. Raises the driver's
    ``NotifyConfigError``/``NotifyError`` for the caller to report its own way."""
    test = NotificationMessage(
        title=title,
        message=message,
        severity=severity,
        tags={"test": "true"},
        context={"source": source},
        dedup_key="alertpipes-test-notify",
    )
    return get_driver(driver).send(test, config)
