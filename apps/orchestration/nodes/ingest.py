"""The ingest node: the run's webhook payload becomes alerts and an incident.

It hands *this* run's incident to later nodes through its output (``incident_id``), taken
from what ``process_webhook`` touched, never from "the latest alert in the table", which
under concurrent runs would belong to someone else, and noise control's decision about it
(``noise``: kind, notify, analyze, reason; see docs/noise.md), which the intelligence and
notify nodes act on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    transaction,
)

from apps.alerts.drivers import DRIVER_REGISTRY
from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType

if TYPE_CHECKING:
    from apps.alerts.services import ProcessingResult

logger = logging.getLogger(__name__)

# Keys the webhook/CLI wrapper may carry next to the real body: {"driver": ..., "payload": {...}}.
_WRAPPER_KEYS = {"driver", "payload", "source"}


def unwrap_payload(payload: Any) -> tuple[Any, str | None]:
    """The alert body and the driver named next to it, for wrapped and bare payloads.

    Only a dict whose keys are all wrapper keys counts as wrapped, so a bare generic alert
    that happens to have a ``payload`` field is not mistaken for an envelope.
    """
    if (
        isinstance(payload, dict)
        and isinstance(payload.get("payload"), dict)
        and set(payload) <= _WRAPPER_KEYS
    ):
        driver = payload.get("driver")
        return payload["payload"], driver if isinstance(driver, str) and driver else None
    return payload, None


def _unknown_driver(name: Any) -> str:
    return f"Unknown alert driver: {name!r}. Known drivers: {', '.join(DRIVER_REGISTRY)}"


class IngestNodeHandler(BaseNodeHandler):
    """Parses the run's payload and upserts alerts and incidents.

    Driver: node config ``driver``, else the payload's ``driver``, else the run's source when
    it names a driver (webhooks on ``/alerts/webhook/<source>/``), else auto-detection.
    """

    node_type = NodeType.INGEST
    name = "ingest"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        started = time.perf_counter()
        result = self.result(ctx, config)
        body, wrapped_driver = unwrap_payload(ctx.payload)
        driver = config.get("driver") or wrapped_driver
        if not driver and ctx.source in DRIVER_REGISTRY:
            driver = ctx.source
        if driver and driver not in DRIVER_REGISTRY:
            result.errors.append(_unknown_driver(driver))
            result.duration_ms = (time.perf_counter() - started) * 1000
            return result

        # Imported here: node modules load before Django's app registry is ready.
        from apps.alerts.services import AlertOrchestrator
        from apps.noise import services as noise
        from apps.noise import sweeps

        decision: noise.IngestDecision | None = None
        try:
            periodic = sweeps.periodic_decision(ctx.payload, ctx.run_id, ctx.trace_id)
            if periodic is not None:
                # A run a noise sweep started (reminder, digest, end of a silence or of
                # flapping): nothing to ingest, the decision is already taken.
                result.output = sweeps.periodic_output(periodic)
                result.duration_ms = (time.perf_counter() - started) * 1000
                return result
            run = noise.RunInfo.of(ctx)
            # One transaction: the alerts and the decision about them are stored together, so
            # a retried ingest finds its decision instead of seeing "nothing changed".
            with transaction.atomic():
                processed = AlertOrchestrator().process_webhook(body, driver=driver)
                decision = noise.decide_for_ingest(run, processed)
        except (OperationalError, InterfaceError) as exc:
            # The database is down or restarting: another attempt later can succeed.
            raise NodeError(f"database unavailable while ingesting: {exc}", retryable=True) from exc
        except IntegrityError as exc:
            # Only reachable after repeated lost races; a fresh attempt sees the winner's rows.
            raise NodeError(f"conflicting concurrent ingest: {exc}", retryable=True) from exc
        except DatabaseError as exc:
            raise NodeError(f"database error while ingesting: {exc}", retryable=False) from exc

        result.output = self._output(processed)
        if decision is not None:
            result.output["noise"] = decision.output
            # The run is about the incident that changed (see noise.services._focus).
            result.output["incident_id"] = decision.incident_id or result.output["incident_id"]
        incident_id = result.output["incident_id"]
        wanted = decision is None or decision.output.get("notify") or decision.output.get("analyze")
        if isinstance(incident_id, int) and wanted:
            # Read once here, where the alerts were just written; the analysis and the
            # notification take it from this output (NodeContext.incident_summary) instead
            # of reading the incident again each. A run that will neither analyse nor notify
            # (a folded storm member, a silenced alert) does not read it at all.
            from apps.alerts.services import incident_summary

            result.output["incident_summary"] = incident_summary(
                incident_id, processed.incidents.get(incident_id)
            )
        result.errors.extend(processed.errors)
        if processed.ignored:
            # Later nodes need an incident; an ignored event gives them none.
            result.errors.append(processed.ignored)
        logger.info(
            "ingested %s alerts from %s into incident %s",
            len(processed.alerts),
            processed.source or "unknown source",
            processed.incident_id,
            extra={"trace_id": ctx.trace_id, "run_id": ctx.run_id},
        )
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    @staticmethod
    def _output(processed: ProcessingResult) -> dict[str, Any]:
        primary = processed.primary_alert
        output: dict[str, Any] = {
            "alerts_created": processed.alerts_created,
            "alerts_updated": processed.alerts_updated,
            "alerts_resolved": processed.alerts_resolved,
            "incidents_created": processed.incidents_created,
            "incidents_updated": processed.incidents_updated,
            "source": processed.source,
            "incident_id": processed.incident_id,
            "incident_ids": processed.incident_ids,
            "alert_fingerprint": primary.fingerprint if primary else None,
            "severity": primary.severity if primary else None,
            "status": primary.status if primary else None,
            "alert_count": len(processed.alerts),
        }
        if processed.ignored:
            output["ignored"] = processed.ignored
        return output

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        driver = config.get("driver")
        if driver is None or driver == "":
            return []
        if not isinstance(driver, str) or driver not in DRIVER_REGISTRY:
            return [_unknown_driver(driver)]
        return []
