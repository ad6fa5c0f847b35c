"""Field types shared by the API's serializers: strict where JSON has a type for it."""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

NAME_MAX_LENGTH = 100
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
name_validator = RegexValidator(
    re.compile(NAME_PATTERN),
    "Use letters, digits, '-' and '_' only, starting with a letter or digit (no '/', no spaces)",
)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true``/``false``: ``"nope"`` or ``1`` is an error, not a guess."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        raise AssertionError  # fail() raises


class TextField(serializers.CharField):
    """A string that is only ever a string: numbers, lists and objects are refused, not
    turned into their repr."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NameField(TextField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        super().__init__(**kwargs)
        self.validators.append(name_validator)


class JSONObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number)."""

    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """A field the serializer does not know is refused: a typo must not be ignored silently."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}  # type: ignore[attr-defined]
            unknown = sorted(str(k) for k in set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {
                        "non_field_errors": [
                            f"Unknown or read-only fields: {', '.join(unknown)}. "
                            f"Accepted: {', '.join(sorted(writable))}"
                        ]
                    }
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class NumberField(serializers.FloatField):
    """A JSON number: ``true`` is not 1 and ``"5"`` is not 5."""

    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)
