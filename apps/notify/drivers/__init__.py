"""Notification drivers, in the order the setup wizard numbers them.

A new driver is one module here plus one line in ``DRIVER_REGISTRY``; model choices, the
node's validation and ``test_notify`` all derive from this dict.
"""

from __future__ import annotations

from apps.notify.drivers.base import BaseDriver
from apps.notify.drivers.email import EmailDriver
from apps.notify.drivers.generic import GenericDriver
from apps.notify.drivers.pagerduty import PagerDutyDriver
from apps.notify.drivers.slack import SlackDriver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import DeliveryResult, NotificationMessage

DRIVER_REGISTRY: dict[str, type[BaseDriver]] = {
    "email": EmailDriver,
    "slack": SlackDriver,
    "pagerduty": PagerDutyDriver,
    "generic": GenericDriver,
}


def get_driver(name: str) -> BaseDriver:
    """A driver instance; ``KeyError`` naming the known drivers if ``name`` is unknown."""
    if name not in DRIVER_REGISTRY:
        raise KeyError(f"Unknown driver: {name}. Available: {list(DRIVER_REGISTRY)}")
    return DRIVER_REGISTRY[name]()


__all__ = [
    "DRIVER_REGISTRY",
    "BaseDriver",
    "DeliveryResult",
    "NotificationMessage",
    "NotifyConfigError",
    "NotifyError",
    "get_driver",
]
