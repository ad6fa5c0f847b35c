"""Channel configuration as pydantic models: one declaration per driver, every problem listed.

Values arrive from the admin, the API, the wizard (which stores ports as strings) and node
``driver_config``; the field types below accept the forms those produce and refuse anything
else, each with the message operators know (``smtp_port must be an integer, got 'smtp'``).
A driver's model is also its published JSON Schema (``GET /notify/drivers/``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationInfo, WithJsonSchema

from apps.notify.errors import NotifyConfigError
from apps.notify.http import validate_url
from apps.options import Options, fail, issues

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_text(value: Any, key: str, default: str | None) -> str:
    if _blank(value):
        if default is None:
            fail(f"{key} is required")
        return default
    if not isinstance(value, str):
        fail(f"{key} must be a string")
    return value.strip()


def text(default: str | None = None) -> Any:
    """A string, stripped; blank means missing (required when ``default`` is None)."""

    def read(value: Any, info: ValidationInfo) -> str:
        return _read_text(value, str(info.field_name), default)

    return Annotated[str, BeforeValidator(read)]


def url(default: str | None = None) -> Any:
    """An http(s) URL with a host (the address itself is checked when sending)."""

    def read(value: Any, info: ValidationInfo) -> str:
        key = str(info.field_name)
        checked = _read_text(value, key, default)
        if checked and checked != default:
            problems = validate_url(checked)
            if problems:
                fail("; ".join(f"{key} {p}" for p in problems))
        return checked

    schema = {"type": "string", "format": "uri"}
    return Annotated[str, BeforeValidator(read), WithJsonSchema(schema)]


def integer(default: int, minimum: int, maximum: int) -> Any:
    """A whole number (a numeric string too: the wizard stores ports as text)."""

    def read(value: Any, info: ValidationInfo) -> int:
        key = info.field_name
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            fail(f"{key} must be an integer")
        try:
            number = int(str(value).strip())
        except ValueError:
            fail(f"{key} must be an integer, got {value!r}")
        if not minimum <= number <= maximum:
            fail(f"{key} must be between {minimum} and {maximum}")
        return number

    schema = {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default}
    return Annotated[int, BeforeValidator(read), WithJsonSchema(schema)]


def _flag(value: Any, info: ValidationInfo) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _TRUE | _FALSE:
        fail(f"{info.field_name} must be true or false, got {value!r}")
    return word in _TRUE


# None until the model decides (email's TLS defaults follow the port).
Flag = Annotated[bool | None, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"})]


def address_problem(key: str, address: str) -> str | None:
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c in address for c in " \r\n<>,"):
        return f"{key}: {address!r} is not an email address"
    return None


def _addresses(value: Any, info: ValidationInfo) -> list[str]:
    key = info.field_name
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    elif value is None:
        items = []
    else:
        fail(f"{key} must be a comma-separated string or a list of addresses")
    items = [item for item in items if item]
    if not items:
        fail(f"{key} is required")
    problems = [p for p in (address_problem(key, item) for item in items) if p]
    if problems:
        fail("; ".join(problems))
    return items


EmailList = Annotated[
    list[str],
    BeforeValidator(_addresses),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string", "format": "email"}},
                {"type": "string", "description": "comma-separated addresses"},
            ]
        }
    ),
]


def _headers(value: Any, info: ValidationInfo) -> dict[str, str]:
    key = info.field_name
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            fail(f"{key} must be a JSON object: {exc}")
    if not isinstance(value, dict):
        fail(f"{key} must be an object of header names to values")
    problems: list[str] = []
    for name, header_value in value.items():
        if not isinstance(header_value, str):
            problems.append(f"{key}.{name} must be a string")
        elif (
            not name or any(c in name for c in " :\r\n\t") or any(c in header_value for c in "\r\n")
        ):
            # CR/LF would let a config inject extra headers into the request.
            problems.append(f"{key}.{name} is not a valid header")
    if problems:
        fail("; ".join(problems))
    return {str(name): v for name, v in value.items()}


Headers = Annotated[
    dict[str, str],
    BeforeValidator(_headers),
    WithJsonSchema({"type": "object", "additionalProperties": {"type": "string"}}),
]


class DriverConfig(Options):
    """Base of every driver's config model; ``from_dict`` is what drivers call."""

    # Keys whose values the admin, API and logs never show.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> Any:
        """The typed config; ``NotifyConfigError`` listing every problem."""
        if not isinstance(raw, dict):
            raise NotifyConfigError([f"config must be an object, got {type(raw).__name__}"])
        model, found = issues(cls, raw)
        if model is not None:
            return model
        known = sorted(cls.model_fields)
        unknown = sorted(i.key for i in found if i.kind == "extra_forbidden")
        errors = (
            [f"unknown keys: {', '.join(unknown)} (known: {', '.join(known)})"] if unknown else []
        )
        for issue in found:
            if issue.kind == "missing":
                errors.append(f"{issue.key} is required")
            elif issue.kind != "extra_forbidden":
                errors.append(issue.message)
        raise NotifyConfigError(errors)
