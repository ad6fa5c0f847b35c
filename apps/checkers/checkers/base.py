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
from typing import Any, ClassVar

from apps.checkers.checkers.options import CheckerOptions, Option, describe, specs
from apps.options import issues

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
    """One health check. Subclasses declare ``Options`` (a pydantic model, see
    ``checkers/options.py``) and implement ``measure``; ``options`` is derived from it."""

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[CheckerOptions]] = CheckerOptions
    options: ClassVar[tuple[Option, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.options = specs(cls.Options)

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
        # A new dump each time, so a caller editing its config cannot change the defaults.
        return cls.Options().model_dump()

    @classmethod
    def validate(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Complete, typed options (defaults filled in); ``CheckerConfigError`` lists problems."""
        valid = ", ".join(o.name for o in cls.options) or "none"
        model, found = issues(cls.Options, dict(options))
        errors = [
            f"{cls.name}: unknown option '{i.key}' (valid options: {valid})"
            if i.kind == "extra_forbidden"
            else f"{cls.name}: option '{i.key}' {describe(i)}"
            for i in found
        ]
        config = model.model_dump() if model is not None else {}
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
