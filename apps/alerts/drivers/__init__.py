"""Alert sources. ``DRIVER_REGISTRY`` is the one list of them: its order is the wizard's
numbering (seed order), and the webhook routes, model choices and docs derive from it.
Adding a source is one module plus one line here.
"""

from __future__ import annotations

from typing import Any

from apps.alerts.drivers.alertmanager import AlertmanagerDriver
from apps.alerts.drivers.base import (
    AlertEvent,
    AlertStatus,
    BaseAlertDriver,
    NormalizedAlert,
    Severity,
)
from apps.alerts.drivers.datadog import DatadogDriver
from apps.alerts.drivers.generic import GenericDriver
from apps.alerts.drivers.grafana import GrafanaDriver
from apps.alerts.drivers.newrelic import NewRelicDriver
from apps.alerts.drivers.opsgenie import OpsgenieDriver
from apps.alerts.drivers.pagerduty import PagerDutyDriver
from apps.alerts.drivers.zabbix import ZabbixDriver
from apps.alerts.errors import PayloadNotRecognizedError, UnknownEventError

DRIVER_REGISTRY: dict[str, type[BaseAlertDriver]] = {
    "alertmanager": AlertmanagerDriver,
    "grafana": GrafanaDriver,
    "pagerduty": PagerDutyDriver,
    "datadog": DatadogDriver,
    "newrelic": NewRelicDriver,
    "opsgenie": OpsgenieDriver,
    "zabbix": ZabbixDriver,
    "generic": GenericDriver,
}

# Generic accepts almost anything with a title, so it is only a last resort.
FALLBACK_DRIVER = "generic"


def get_driver(name: str) -> BaseAlertDriver:
    """A driver instance by registry name; ``KeyError`` listing the known names otherwise."""
    try:
        return DRIVER_REGISTRY[name]()
    except KeyError:
        raise KeyError(
            f"Unknown alert driver: {name!r}. Known drivers: {', '.join(DRIVER_REGISTRY)}"
        ) from None


def detect_driver(payload: Any) -> BaseAlertDriver:
    """The driver whose format ``payload`` is in: specific sources first, generic last.

    Raises ``PayloadNotRecognizedError`` explaining what was expected when none matches.
    """
    if not isinstance(payload, dict):
        raise PayloadNotRecognizedError(
            f"payload must be a JSON object, got {type(payload).__name__}"
        )
    for name, driver_class in DRIVER_REGISTRY.items():
        if name == FALLBACK_DRIVER:
            continue
        driver = driver_class()
        if driver.detect(payload):
            return driver
    fallback = DRIVER_REGISTRY[FALLBACK_DRIVER]()
    if fallback.detect(payload):
        return fallback
    keys = ", ".join(sorted(str(k) for k in payload)[:10]) or "none"
    raise PayloadNotRecognizedError(
        "no alert source recognises this payload (top-level keys: "
        f"{keys}); use /alerts/webhook/<source>/ or send at least a 'title' field"
    )


def parse_payload(
    payload: Any, driver: str | None = None
) -> tuple[BaseAlertDriver, list[NormalizedAlert]]:
    """Pick the driver (named or detected) and parse; errors as in ``BaseAlertDriver.parse``."""
    chosen = get_driver(driver) if driver else detect_driver(payload)
    if not isinstance(payload, dict):
        raise PayloadNotRecognizedError(
            f"{chosen.name} payload must be a JSON object, got {type(payload).__name__}",
            source=chosen.name,
        )
    return chosen, chosen.parse(payload)


__all__ = [
    "DRIVER_REGISTRY",
    "AlertEvent",
    "AlertStatus",
    "BaseAlertDriver",
    "NormalizedAlert",
    "PayloadNotRecognizedError",
    "Severity",
    "UnknownEventError",
    "detect_driver",
    "get_driver",
    "parse_payload",
]
