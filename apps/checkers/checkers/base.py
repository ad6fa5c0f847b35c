"""The checker contract: ``BaseChecker.check(**options) -> CheckResult``.

A checker measures one aspect of the host it runs on (psutil, the filesystem, the network) and
grades it against warning/critical thresholds. Options are typed and validated before anything is
measured, so a typo in a pipeline definition is an error at save time, not a silent default.
"""

from __future__ import annotations

import logging
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

logger = logging.getLogger(__name__)


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        # A measured warning says more than "could not measure", so unknown ranks below it;
        # critical always wins when results are combined.
        return _RANK[self]

    @classmethod
    def worst(cls, statuses: Sequence[CheckStatus]) -> CheckStatus:
        """The most severe of ``statuses`` (``OK`` when there are none)."""
        return max(statuses, key=lambda s: s.rank, default=cls.OK)


_RANK = {CheckStatus.OK: 0, CheckStatus.UNKNOWN: 1, CheckStatus.WARNING: 2, CheckStatus.CRITICAL: 3}


class CheckerConfigError(ValueError):
    """Options a checker cannot use (unknown name, wrong type, bad threshold).

    Permanent: running the same options again fails the same way. ``errors`` lists every problem.
    """

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


OptionKind = Literal["float", "int", "str", "list"]


@dataclass(frozen=True)
class Option:
    """One typed checker option. ``list`` options also accept a comma-separated string."""

    name: str
    kind: OptionKind
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    # Unit of a threshold option; check_health's global --warning/--critical use it to pick
    # the checkers they mean (percentages), leaving latency or load thresholds alone.
    unit: str = ""

    def coerce(self, value: Any) -> Any:
        """``value`` in this option's type, or ``ValueError`` saying what was expected."""
        if self.kind == "list":
            return self._coerce_list(value)
        if self.kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"must be a string, got {value!r}")
            result: Any = value
        elif isinstance(value, bool) or not isinstance(value, int | float):
            # bool is an int in Python; "true" as a threshold is always a mistake.
            raise ValueError(f"must be a number, got {value!r}")
        elif self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"must be a whole number, got {value!r}")
            result = int(value)
        else:
            result = float(value)
        self._check_bounds(result)
        return result

    def parse_text(self, text: str) -> Any:
        """Turn a command-line string into this option's type, then validate it."""
        if self.kind in ("int", "float"):
            try:
                number: float = float(text)
            except ValueError:
                raise ValueError(f"must be a number, got {text!r}") from None
            return self.coerce(number)
        return self.coerce(text)

    def _coerce_list(self, value: Any) -> list[str]:
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",")]
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value]
        else:
            raise ValueError(
                f"must be a list of strings or a comma-separated string, got {value!r}"
            )
        items = [item for item in items if item]
        if self.minimum is not None and len(items) < self.minimum:
            raise ValueError(f"needs at least {int(self.minimum)} item(s)")
        return items

    def _check_bounds(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}, got {value!r}")


def threshold_options(warning: float, critical: float, unit: str) -> tuple[Option, Option]:
    """The usual pair: a value at or above ``warning``/``critical`` grades the check."""
    return (
        Option("warning", "float", warning, "warning at or above", minimum=0, unit=unit),
        Option("critical", "float", critical, "critical at or above", minimum=0, unit=unit),
    )


def grade(value: float, warning: float, critical: float) -> CheckStatus:
    """Higher is worse: ``critical`` if ``value >= critical``, ``warning`` if ``>= warning``."""
    if value >= critical:
        return CheckStatus.CRITICAL
    if value >= warning:
        return CheckStatus.WARNING
    return CheckStatus.OK


@dataclass
class Measurement:
    """What a checker's ``measure`` returns; the base adds name, host and timing."""

    status: CheckStatus
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    checker: str
    status: CheckStatus
    message: str
    metrics: dict[str, Any]
    hostname: str
    duration_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what pipelines, ``--json`` output and ``CheckRun`` rows carry."""
        return {
            "checker": self.checker,
            "status": self.status.value,
            "message": self.message,
            "metrics": self.metrics,
            "hostname": self.hostname,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
        }


class BaseChecker(ABC):
    """One health check. Subclasses declare ``options`` and implement ``measure``."""

    name: ClassVar[str]
    description: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()

    @classmethod
    def option(cls, name: str) -> Option | None:
        return next((o for o in cls.options if o.name == name), None)

    @classmethod
    def has_thresholds(cls) -> bool:
        return cls.option("warning") is not None and cls.option("critical") is not None

    @classmethod
    def threshold_unit(cls) -> str | None:
        warning = cls.option("warning")
        return warning.unit if warning else None

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        # Copies, so a caller editing its config cannot change the class's defaults.
        return {o.name: list(o.default) if o.kind == "list" else o.default for o in cls.options}

    @classmethod
    def validate(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Complete, typed options (defaults filled in); ``CheckerConfigError`` lists problems."""
        errors: list[str] = []
        valid = ", ".join(o.name for o in cls.options) or "none"
        config = cls.defaults()
        for key, value in options.items():
            spec = cls.option(key)
            if spec is None:
                errors.append(f"{cls.name}: unknown option '{key}' (valid options: {valid})")
                continue
            try:
                config[key] = spec.coerce(value)
            except ValueError as exc:
                errors.append(f"{cls.name}: option '{key}' {exc}")
        if not errors and cls.has_thresholds():
            errors += cls._order_thresholds(options, config)
        if errors:
            raise CheckerConfigError(errors)
        return config

    @classmethod
    def _order_thresholds(cls, given: Mapping[str, Any], config: dict[str, Any]) -> list[str]:
        # Only one threshold given ("--critical 50" with the default warning at 80): the unset
        # one follows it, so the intent stands. Both given out of order is a mistake to report.
        if config["warning"] <= config["critical"]:
            return []
        if "warning" not in given:
            config["warning"] = config["critical"]
            return []
        if "critical" not in given:
            config["critical"] = config["warning"]
            return []
        return [
            f"{cls.name}: warning threshold ({config['warning']:g}) must not exceed "
            f"critical threshold ({config['critical']:g})"
        ]

    def check(self, **options: Any) -> CheckResult:
        """Validate ``options``, measure and grade.

        Raises ``CheckerConfigError`` for options it cannot use, before measuring anything.
        Never raises for a failed measurement: any exception becomes a ``CheckResult`` with
        status ``unknown`` and the error, because a monitoring run must report, not crash.
        """
        config = self.validate(options)
        hostname = socket.gethostname()
        started = time.perf_counter()
        try:
            measured = self.measure(config)
        except Exception as exc:  # noqa: BLE001 - recorded as an "unknown" result and logged
            logger.warning("checker %s failed: %s", self.name, exc, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            return CheckResult(
                checker=self.name,
                status=CheckStatus.UNKNOWN,
                message=f"{self.name} check failed: {error}",
                metrics={},
                hostname=hostname,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=error,
            )
        return CheckResult(
            checker=self.name,
            status=measured.status,
            message=measured.message,
            metrics=measured.metrics,
            hostname=hostname,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    @abstractmethod
    def measure(self, config: dict[str, Any]) -> Measurement:
        """Measure with validated ``config`` and grade it. May raise; ``check`` records it."""
