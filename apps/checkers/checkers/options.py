"""Checker options as pydantic models: the types, and a read-only view for commands.

A checker declares ``class Options(thresholds(80, 95, "percent")): samples: WholeNumber =
option(1, "...", minimum=1)``. ``BaseChecker.validate`` builds the model; ``Option`` specs
(derived from it, never declared by hand) let ``check_health --list`` and the wizard show
each option and turn command-line text into its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BeforeValidator, Field, create_model
from pydantic.fields import FieldInfo

from apps.options import Issue, Options, fail, issues


@dataclass(frozen=True)
class Kind:
    """Marks a field's kind (float, int, str, list) for command-line parsing and listings."""

    name: str


def _number(value: Any) -> Any:
    # bool is an int in Python; "true" as a threshold is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"must be a number, got {value!r}")
    return value


def _whole(value: Any) -> Any:
    value = _number(value)
    if isinstance(value, float):
        if not value.is_integer():
            fail(f"must be a whole number, got {value!r}")
        return int(value)
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        fail(f"must be a string, got {value!r}")
    return value


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        fail(f"must be a list of strings or a comma-separated string, got {value!r}")
    return [item for item in items if item]


Number = Annotated[float, BeforeValidator(_number), Kind("float")]
WholeNumber = Annotated[int, BeforeValidator(_whole), Kind("int")]
Text = Annotated[str, BeforeValidator(_text), Kind("str")]
Names = Annotated[list[str], BeforeValidator(_names), Kind("list")]


def choice(*values: Any) -> Any:
    """A field type accepting only ``values`` (numbers or strings)."""
    kind = "str" if all(isinstance(v, str) for v in values) else "int"
    check = _text if kind == "str" else _whole

    def one_of(value: Any) -> Any:
        value = check(value)
        if value not in values:
            fail(f"must be one of {', '.join(map(str, values))}, got {value!r}")
        return value

    return Annotated[Literal[values], BeforeValidator(one_of), Kind(kind)]  # type: ignore[valid-type]


def option(
    default: Any,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: str = "",
) -> Any:
    """A field: its default, its help text, bounds (items, for lists) and the unit of a
    threshold (``check_health --warning`` applies to percent thresholds)."""
    extra = {"unit": unit} if unit else None
    if isinstance(default, list):
        items = {"min_length": int(minimum)} if minimum is not None else {}
        return Field(
            default_factory=lambda: list(default),
            description=help,
            json_schema_extra=extra,
            **items,
        )
    return Field(default, ge=minimum, le=maximum, description=help, json_schema_extra=extra)


class CheckerOptions(Options):
    """Base of every checker's options."""


def thresholds(warning: float, critical: float, unit: str) -> type[CheckerOptions]:
    """The usual pair: a value at or above ``warning``/``critical`` grades the check."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        "ThresholdOptions",
        __base__=CheckerOptions,
        warning=(Number, option(warning, "warning at or above", minimum=0, unit=unit)),
        critical=(Number, option(critical, "critical at or above", minimum=0, unit=unit)),
    )


def describe(issue: Issue) -> str:
    """An issue as the checkers have always phrased it (without the ``name: option`` part)."""
    ctx = issue.context
    if issue.kind == "greater_than_equal":
        return f"must be at least {ctx['ge']:g}, got {issue.value!r}"
    if issue.kind == "less_than_equal":
        return f"must be at most {ctx['le']:g}, got {issue.value!r}"
    if issue.kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s)"
    return issue.message


def _kind(info: FieldInfo) -> str:
    for item in info.metadata:
        if isinstance(item, Kind):
            return item.name
    return "str"


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", low) if getattr(item, "ge", None) is not None else low
        low = getattr(item, "min_length", low) if getattr(item, "min_length", None) else low
        high = getattr(item, "le", high) if getattr(item, "le", None) is not None else high
    return low, high


@dataclass(frozen=True)
class Option:
    """What one option is (derived from the options model; validation stays in the model)."""

    name: str
    kind: str
    default: Any
    help: str
    model: type[CheckerOptions]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    unit: str = ""

    def coerce(self, value: Any) -> Any:
        """``value`` in this option's type, or ``ValueError`` saying what was expected."""
        _, found = issues(self.model, {self.name: value})
        mine = [i for i in found if i.key == self.name]
        if mine:
            raise ValueError(describe(mine[0]))
        return getattr(self.model.model_validate({self.name: value}), self.name)

    def parse_text(self, text: str) -> Any:
        """Turn a command-line string into this option's type, then validate it."""
        if self.kind in ("int", "float"):
            try:
                number: float = float(text)
            except ValueError:
                raise ValueError(f"must be a number, got {text!r}") from None
            return self.coerce(number)
        return self.coerce(text)


def specs(model: type[CheckerOptions]) -> tuple[Option, ...]:
    result = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        choices = get_args(annotation) if get_origin(annotation) is Literal else None
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        low, high = _bounds(info)
        default = info.get_default(call_default_factory=True)
        result.append(
            Option(
                name=name,
                kind=_kind(info),
                default=default,
                help=info.description or "",
                model=model,
                minimum=low,
                maximum=high,
                choices=choices,
                unit=str(extra.get("unit", "")),
            )
        )
    return tuple(result)
