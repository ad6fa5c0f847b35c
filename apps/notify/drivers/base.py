"""The notify driver contract: ``BaseDriver.send``."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from apps.notify.errors import NotifyConfigError
from apps.notify.message import DeliveryResult, NotificationMessage

MASK = "****"


class BaseDriver(ABC):
    """One notification transport. Drivers are stateless; channels hold the config.

    A driver declares ``config_class`` (a ``DriverConfig`` pydantic model: its validation and
    its JSON Schema); the model's ``secret_fields`` are masked wherever config is shown.
    """

    name: ClassVar[str] = "base"
    label: ClassVar[str] = "Base"
    config_class: ClassVar[Any]
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "config_class"):
            cls.secret_keys = tuple(getattr(cls.config_class, "secret_fields", ()))

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The JSON Schema of this driver's config."""
        from apps.options import json_schema

        return json_schema(cls.config_class)

    @abstractmethod
    def send(self, message: NotificationMessage, config: dict[str, Any]) -> DeliveryResult:
        """Deliver ``message`` using the channel ``config``.

        Returns a ``DeliveryResult`` when the remote side accepted the message. Raises
        ``NotifyConfigError`` when ``config`` is invalid and ``NotifyError`` for transport
        failures, with ``retryable`` saying whether another attempt may succeed.
        """

    def parse_config(self, config: Any) -> Any:
        """The typed config; raises ``NotifyConfigError`` listing every problem."""
        return self.config_class.from_dict(config)

    def validate_config(self, config: Any) -> list[str]:
        """Problems with ``config`` as messages (empty when valid)."""
        try:
            self.parse_config(config)
        except NotifyConfigError as exc:
            return exc.errors
        return []

    def plain_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with values that may arrive encoded (JSON strings) decoded, so masking
        and unmasking compare like with like."""
        return copy.deepcopy(config)

    def mask_value(self, key: str, value: Any) -> Any:
        """How one top-level value is shown; secrets become ``MASK``."""
        if key in self.secret_keys and value not in (None, ""):
            return MASK
        return value

    def masked_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``config`` safe to display or log."""
        if not isinstance(config, dict):
            return {}
        plain = self.plain_config(config)
        return {key: self.mask_value(key, value) for key, value in plain.items()}

    def restore_secrets(
        self, submitted: dict[str, Any], original: dict[str, Any]
    ) -> dict[str, Any]:
        """``submitted`` with every value still equal to its mask replaced by the stored
        secret: a form shows masks, so saving it unchanged must keep the real secrets."""
        if not isinstance(submitted, dict) or not isinstance(original, dict):
            return submitted
        return _restore(submitted, self.plain_config(original), self.masked_config(original))


def _restore(submitted: dict[str, Any], plain: dict[str, Any], masked: dict[str, Any]) -> dict:
    result: dict[str, Any] = {}
    for key, value in submitted.items():
        if key in masked and key in plain and value == masked[key] and masked[key] != plain[key]:
            result[key] = plain[key]
        elif isinstance(value, dict) and isinstance(plain.get(key), dict):
            result[key] = _restore(value, plain[key], masked.get(key) or {})
        else:
            result[key] = value
    return result
