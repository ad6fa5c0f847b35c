"""The provider contract: ``BaseProvider.analyze``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, get_args, get_origin

from pydantic import ConfigDict, Field

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderConfigError
from apps.intelligence.recommendations import Analysis, Recommendation
from apps.options import Options, fail, issues


class ProviderOptions(Options):
    """Base of every provider's ``provider_config`` model. Strict: JSON types only (``1`` is
    not ``true``, ``"5"`` not 5); ``null`` means "the default" for every option."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _valid_thresholds(value: dict[str, Any]) -> bool:
    from apps.intelligence.rules import DEFAULT_THRESHOLDS

    return all(
        key in DEFAULT_THRESHOLDS
        and isinstance(pair, list | tuple)
        and len(pair) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        and 0 <= pair[0] <= pair[1] <= 100
        for key, pair in value.items()
    )


def check_thresholds(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """The local rules' per-metric thresholds, checked after the type."""
    if value is not None and not _valid_thresholds(value):
        fail("a mapping of cpu/memory/swap/disk to [warning, critical] percentages (0-100)")
    return value


class LiveOptions(ProviderOptions):
    """Options of every provider that may measure this host itself."""

    collect_live: bool | None = Field(
        None,
        description="Measure this host with psutil when a scan has no measurements (default true)",
    )
    disk_paths: list[Any] | None = Field(
        None, description="Mount points a live scan measures (default ['/'])"
    )


_TYPE_NAMES = {float: "int/float", int: "int", bool: "bool", str: "str", list: "list", dict: "dict"}


def type_name(annotation: Any) -> str:
    """How the messages name an option's type (``int/float``, ``bool``, ...)."""
    for arg in get_args(annotation) or (annotation,):
        base = get_origin(arg) or arg
        if base in _TYPE_NAMES:
            return _TYPE_NAMES[base]
    return "valid"


class BaseProvider(ABC):
    """One way of turning an incident and its context into recommendations.

    Subclasses set ``name``, ``description`` and ``Options`` (the ``provider_config`` model)
    and implement ``analyze``. The config is validated when the provider is built, so a
    bad definition fails when it is saved, not when an alert arrives.
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions

    def __init__(self, **config: Any) -> None:
        errors = self.validate_config(config)
        if errors:
            raise ProviderConfigError("; ".join(errors))
        self.config = config

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems with ``config`` as messages (empty when valid)."""
        if not isinstance(config, dict):
            return ["provider_config must be an object"]
        fields = cls.Options.model_fields
        errors = []
        for issue in issues(cls.Options, config)[1]:
            if issue.kind == "extra_forbidden":
                errors.append(
                    f"Unknown option for provider {cls.name}: {issue.key}. "
                    f"Available: {sorted(fields)}"
                )
            elif issue.kind == "greater_than":
                errors.append(f"Option {issue.key} of provider {cls.name} must be positive")
            elif issue.kind == "greater_than_equal":
                errors.append(f"Option {issue.key} of provider {cls.name} must be >= 0")
            elif issue.kind == "option":
                errors.append(f"Option {issue.key} of provider {cls.name} must be {issue.message}")
            else:
                names = type_name(fields[issue.key].annotation) if issue.key in fields else "valid"
                errors.append(f"Option {issue.key} of provider {cls.name} must be {names}")
        return errors

    @abstractmethod
    def analyze(self, incident: dict[str, Any] | None, context: AnalysisContext) -> Analysis:
        """Recommendations for ``incident`` (None for a system scan) given the run's context.

        ``incident`` is the alerts app's incident summary dict (id, title, status, severity,
        description, source, created_at, alerts). Returns an ``Analysis`` (iterable over its
        ``Recommendation`` objects). Raises ``ProviderError`` only when it cannot answer at
        all; AI providers fall back to the local rule engine unless ``fallback`` is false.
        """

    def get_recommendations(self, context: AnalysisContext | None = None) -> list[Recommendation]:
        """A system scan: recommendations from the context alone, with no incident."""
        return self.analyze(None, context or AnalysisContext()).recommendations
