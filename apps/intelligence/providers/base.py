"""The provider contract: ``BaseProvider.analyze``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderConfigError
from apps.intelligence.recommendations import Analysis, Recommendation


@dataclass(frozen=True)
class Option:
    """One ``provider_config`` option: accepted types, an extra check, and its documentation."""

    types: tuple[type, ...]
    help: str
    check: Callable[[Any], bool] | None = None
    requirement: str = ""


def positive(value: Any) -> bool:
    return value > 0


def non_negative(value: Any) -> bool:
    return value >= 0


LIVE_OPTIONS: dict[str, Option] = {
    "collect_live": Option(
        (bool,), "Measure this host with psutil when a scan has no measurements (default true)"
    ),
    "disk_paths": Option((list,), "Mount points a live scan measures (default ['/'])"),
}


class BaseProvider(ABC):
    """One way of turning an incident and its context into recommendations.

    Subclasses set ``name``, ``description`` and ``options`` (the accepted ``provider_config``
    keys) and implement ``analyze``. The config is validated when the provider is built, so a
    bad definition fails when it is saved, not when an alert arrives.
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def __init__(self, **config: Any) -> None:
        errors = self.validate_config(config)
        if errors:
            raise ProviderConfigError("; ".join(errors))
        self.config = config

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems with ``config`` as messages (empty when valid)."""
        errors = []
        for key, value in config.items():
            option = cls.options.get(key)
            if option is None:
                errors.append(
                    f"Unknown option for provider {cls.name}: {key}. "
                    f"Available: {sorted(cls.options)}"
                )
            elif value is None:
                continue
            elif not isinstance(value, option.types) or isinstance(value, bool) is not (
                bool in option.types
            ):
                names = "/".join(t.__name__ for t in option.types)
                errors.append(f"Option {key} of provider {cls.name} must be {names}")
            elif option.check and not option.check(value):
                errors.append(f"Option {key} of provider {cls.name} must be {option.requirement}")
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
