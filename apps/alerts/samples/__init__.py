"""A realistic firing payload for every alert source, shipped with the package.

``run_pipeline --sample [--source X]`` and the setup wizard send these, so an operator can
see a whole pipeline run before wiring up a real monitoring system.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apps.alerts.drivers import DRIVER_REGISTRY

SAMPLES_DIR = Path(__file__).resolve().parent
DEFAULT_SAMPLE_SOURCE = "alertmanager"


def get_sample_payload(source: str | None = DEFAULT_SAMPLE_SOURCE) -> dict[str, Any]:
    """A fresh copy of ``source``'s sample webhook body (Alertmanager's when ``None``).

    Raises ``KeyError`` naming the known sources when ``source`` is not one of them.
    """
    source = source or DEFAULT_SAMPLE_SOURCE
    if source not in DRIVER_REGISTRY:
        raise KeyError(
            f"No sample for alert source {source!r}. Known sources: {', '.join(DRIVER_REGISTRY)}"
        )
    return json.loads((SAMPLES_DIR / f"{source}.json").read_text(encoding="utf-8"))
