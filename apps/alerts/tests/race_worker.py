"""Entry point for the concurrency test's child processes (spawned, so they start clean).

Kept out of the test module: a spawned child imports this before Django is set up, so it
must not import models at module level.
"""

from __future__ import annotations

import os
from typing import Any


def ingest_at_barrier(
    database_url: str, barrier: Any, results: Any, worker: int, payloads: list[dict[str, Any]]
) -> None:
    """Set Django up against ``database_url``, then ingest each payload in lock-step with
    the other workers (all wait at the barrier, then all call process_webhook at once)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()
    from django.db import connection

    from apps.alerts.services import AlertOrchestrator

    connection.ensure_connection()  # connect before the barrier so the calls really collide
    outcomes = []
    try:
        for payload in payloads:
            barrier.wait(timeout=60)
            result = AlertOrchestrator().process_webhook(payload, driver="generic")
            outcomes.append(
                {
                    "created": result.alerts_created,
                    "updated": result.alerts_updated,
                    "incident_id": result.incident_id,
                    "errors": result.errors,
                }
            )
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((worker, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        connection.close()
    results.put((worker, outcomes))
