"""Health checkers, one module each, registered here in the order the setup wizard numbers them.

``cpu, memory, disk`` first, ``network`` 7th and ``process`` 8th: the wizard's prompts and saved
answers (``"7"`` = network) depend on this order.
"""

from __future__ import annotations

from apps.checkers.checkers.base import (
    BaseChecker,
    CheckerConfigError,
    CheckResult,
    CheckStatus,
)
from apps.checkers.checkers.cpu import CpuChecker
from apps.checkers.checkers.disk import DiskChecker
from apps.checkers.checkers.inodes import InodesChecker
from apps.checkers.checkers.load import LoadChecker
from apps.checkers.checkers.memory import MemoryChecker
from apps.checkers.checkers.network import NetworkChecker
from apps.checkers.checkers.options import CheckerOptions, Option
from apps.checkers.checkers.process import ProcessChecker
from apps.checkers.checkers.swap import SwapChecker

CHECKER_REGISTRY: dict[str, type[BaseChecker]] = {
    "cpu": CpuChecker,
    "memory": MemoryChecker,
    "disk": DiskChecker,
    "load": LoadChecker,
    "swap": SwapChecker,
    "inodes": InodesChecker,
    "network": NetworkChecker,
    "process": ProcessChecker,
}


def get_checker(name: str) -> BaseChecker:
    """A checker instance; ``CheckerConfigError`` naming the available ones if unknown."""
    if name not in CHECKER_REGISTRY:
        raise CheckerConfigError(
            [f"Unknown checker: {name}. Available: {', '.join(CHECKER_REGISTRY)}"]
        )
    return CHECKER_REGISTRY[name]()


__all__ = [
    "CHECKER_REGISTRY",
    "BaseChecker",
    "CheckResult",
    "CheckStatus",
    "CheckerConfigError",
    "CheckerOptions",
    "Option",
    "get_checker",
]
