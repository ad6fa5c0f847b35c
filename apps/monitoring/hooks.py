"""Metric hooks on signals the other apps already send."""

from __future__ import annotations

from typing import Any


def _run_retried(sender: Any, **kwargs: Any) -> None:
    from apps.monitoring.metrics import RUN_RETRIES

    RUN_RETRIES.inc()


def connect() -> None:
    from apps.orchestration.signals import run_retried

    run_retried.connect(_run_retried, dispatch_uid="monitoring-run-retried")
