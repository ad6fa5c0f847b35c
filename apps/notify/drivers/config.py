"""Strict readers for channel configuration: every problem is collected, none guessed away.

Values arrive from the admin, the API, the wizard (which stores ports as strings) and node
``driver_config``; each reader accepts the forms those produce and refuses anything else.
"""

from __future__ import annotations

import json
from typing import Any

from apps.notify.errors import NotifyConfigError
from apps.notify.http import validate_url

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigReader:
    """Reads typed values out of a raw config dict, recording errors instead of raising."""

    def __init__(self, raw: Any, known: set[str], aliases: dict[str, str] | None = None) -> None:
        self.errors: list[str] = []
        if not isinstance(raw, dict):
            self.errors.append(f"config must be an object, got {type(raw).__name__}")
            raw = {}
        data = dict(raw)
        for alias, key in (aliases or {}).items():
            if alias in data and key not in data:
                data[key] = data.pop(alias)
        unknown = sorted(set(data) - known)
        if unknown:
            self.errors.append(
                f"unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        self.data = data

    def has(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def string(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors.append(f"{key} is required")
            return default
        if not isinstance(value, str):
            self.errors.append(f"{key} must be a string")
            return default
        return value.strip()

    def integer(self, key: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            self.errors.append(f"{key} must be an integer")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            self.errors.append(f"{key} must be an integer, got {value!r}")
            return default
        if not minimum <= number <= maximum:
            self.errors.append(f"{key} must be between {minimum} and {maximum}")
            return default
        return number

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.errors.append(f"{key} must be true or false, got {value!r}")
        return default

    def url(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self.string(key, required=required, default=default)
        if value and value != default:
            self.errors.extend(f"{key} {problem}" for problem in validate_url(value))
        return value

    def email_list(self, key: str) -> list[str]:
        value = self.data.get(key)
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",")]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value]
        elif value is None:
            items = []
        else:
            self.errors.append(f"{key} must be a comma-separated string or a list of addresses")
            return []
        items = [item for item in items if item]
        if not items:
            self.errors.append(f"{key} is required")
        for item in items:
            check_address(self, key, item)
        return items

    def headers(self, key: str) -> dict[str, str]:
        value = self.data.get(key)
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                self.errors.append(f"{key} must be a JSON object: {exc}")
                return {}
        if not isinstance(value, dict):
            self.errors.append(f"{key} must be an object of header names to values")
            return {}
        result: dict[str, str] = {}
        for name, header_value in value.items():
            if not isinstance(header_value, str):
                self.errors.append(f"{key}.{name} must be a string")
            elif (
                not name
                or any(c in name for c in " :\r\n\t")
                or any(c in header_value for c in "\r\n")
            ):
                # CR/LF would let a config inject extra headers into the request.
                self.errors.append(f"{key}.{name} is not a valid header")
            else:
                result[str(name)] = header_value
        return result

    def finish(self) -> None:
        """Raise ``NotifyConfigError`` listing every problem found so far."""
        if self.errors:
            raise NotifyConfigError(self.errors)


def check_address(reader: ConfigReader, key: str, address: str) -> None:
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c in address for c in " \r\n<>,"):
        reader.errors.append(f"{key}: {address!r} is not an email address")
