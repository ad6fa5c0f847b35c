"""Where the next node runs: on a Celery worker (a broker is configured) or in-process.

This module only chooses; the runners live beside what they drive: ``CeleryRunner`` in
``celery_runner.py`` (next to the task module), the embedded ``BackgroundRunner`` in
``inprocess.py``, ``InlineRunner`` in the engine.
"""

from __future__ import annotations

from django.conf import settings

from apps.orchestration.celery_runner import BROKER_ERRORS, CeleryRunner
from apps.orchestration.engine.runner import InlineRunner, Runner

__all__ = ["BROKER_ERRORS", "broker_configured", "runner_for_start", "runs_inline"]


def broker_configured() -> bool:
    """True when nodes run as Celery tasks; False is the embedded in-process default."""
    return bool(settings.CELERY_BROKER_URL)


def runner_for_start() -> Runner:
    """The runner a new run starts with: Celery, else this process's background threads
    (after the commit), else (``PIPELINE_EMBEDDED_EXECUTION=inline``) the calling thread."""
    if broker_configured():
        return CeleryRunner()
    if settings.PIPELINE_EMBEDDED_EXECUTION == "background":
        from apps.orchestration.inprocess import BackgroundRunner

        return BackgroundRunner()
    return InlineRunner()


def runs_inline() -> bool:
    """True when ``start()`` runs the whole pipeline before returning (no broker, inline)."""
    return not broker_configured() and settings.PIPELINE_EMBEDDED_EXECUTION == "inline"
