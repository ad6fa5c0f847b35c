"""The notify node: send the run's outcome to notification channels, at most once each.

Config (all optional): ``channels`` (stored channel names), ``driver``/``drivers`` (every
active channel of those drivers), ``driver_config`` (an inline, unstored channel of
``driver``), ``title``, ``message``, ``severity``, ``channel`` (Slack channel override).
With none of ``channels``/``driver``/``drivers``, every active channel is used.

When the run's ingest node carries a noise decision (docs/noise.md) that says nobody is
notified, nothing is sent (status ``suppressed``); a resolution goes only to the channels
that were told about the incident.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType

logger = logging.getLogger(__name__)

SUCCEEDED = ("sent", "already_sent")


class NotifyNodeHandler(BaseNodeHandler):
    """Sends to each matching active channel and records each delivery in the ledger."""

    node_type = NodeType.NOTIFY
    name = "notify"

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        from apps.notify.drivers import DRIVER_REGISTRY, get_driver
        from apps.notify.message import SEVERITIES, normalize_severity

        errors: list[str] = []
        driver = config.get("driver")
        if driver is not None and not isinstance(driver, str):
            errors.append("driver must be a string")
        drivers = config.get("drivers")
        if drivers is not None and not (
            isinstance(drivers, list) and all(isinstance(d, str) for d in drivers)
        ):
            errors.append("drivers must be a list of driver names")
        names = [driver] if isinstance(driver, str) else []
        names += drivers if isinstance(drivers, list) else []
        for name in names:
            if isinstance(name, str) and name not in DRIVER_REGISTRY:
                errors.append(f"Unknown driver: {name}. Available: {list(DRIVER_REGISTRY)}")
        channels = config.get("channels")
        if channels is not None and not (
            isinstance(channels, list) and all(isinstance(c, str) for c in channels)
        ):
            errors.append("channels must be a list of channel names")
        inline = config.get("driver_config")
        if inline is not None:
            if not isinstance(inline, dict):
                errors.append("driver_config must be an object")
            elif not isinstance(driver, str) or driver not in DRIVER_REGISTRY:
                errors.append("driver_config needs a known driver")
            else:
                errors += [
                    f"driver_config: {e}" for e in get_driver(driver).validate_config(inline)
                ]
        severity = config.get("severity")
        if severity and normalize_severity(severity, default="") not in SEVERITIES:
            errors.append(f"severity must be one of {', '.join(SEVERITIES)}")
        for key in ("title", "message", "channel"):
            if config.get(key) is not None and not isinstance(config[key], str):
                errors.append(f"{key} must be a string")
        return errors

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        from apps.noise.decide import decision_in
        from apps.noise.services import told_channels
        from apps.notify.compose import build_message
        from apps.notify.dispatch import deliver, requested_drivers, select_targets

        started = time.perf_counter()
        result = self.result(ctx, config)
        node_id = ctx.node_id or result.node_id
        drivers = requested_drivers(config)
        output: dict[str, Any] = {
            "driver": drivers[0] if len(drivers) == 1 else None,
            "drivers": drivers,
            "channels_attempted": [],
            "channels_succeeded": [],
            "channels_failed": [],
            "deliveries": [],
            "status": "failed",
        }
        result.output = output
        problems = self.validate_config(config)
        if problems:
            result.errors.extend(problems)
            return self._finish(result, started)

        noise = decision_in(ctx.previous_outputs)
        if noise is not None:
            output["noise"] = noise
            if not noise.get("notify"):
                # Noise control decided nobody is told (unchanged, silenced, flapping, folded
                # into a storm): the run is recorded, nothing is sent.
                return self._suppressed(result, started, f"{noise['kind']}: {noise['reason']}")

        targets, problems = select_targets(config)
        result.errors.extend(problems)
        if noise is not None and noise.get("kind") == "resolution" and targets:
            # A resolution goes to the channels that were told about the incident, only.
            told = told_channels(ctx.incident_id)
            targets = [t for t in targets if t.name in told]
            if not targets and not problems:
                reason = "resolution: none of this node's channels was told about the incident"
                return self._suppressed(result, started, reason)
        if not targets:
            output["status"] = "failed" if problems else "no_channels"
            if not problems:
                logger.info("notify node %s: no channel configured or matching", node_id)
            return self._finish(result, started)

        message = build_message(
            config,
            run_id=ctx.run_id,
            trace_id=ctx.trace_id,
            source=ctx.source,
            environment=ctx.environment,
            incident=ctx.incident_summary(),
            previous_outputs=ctx.previous_outputs,
            node_id=node_id,
        )
        deliveries = [
            deliver(
                target,
                message,
                run_id=ctx.run_id,
                node_id=node_id,
                owner=ctx.claim_token,
                node_timeout=ctx.timeout or 300.0,
            )
            for target in targets
        ]
        output["deliveries"] = [
            {k: d[k] for k in ("channel", "driver", "status", "error")} for d in deliveries
        ]
        output["channels_attempted"] = [d["channel"] for d in deliveries]
        output["channels_succeeded"] = [
            d["channel"] for d in deliveries if d["status"] in SUCCEEDED
        ]
        failed = [d for d in deliveries if d["status"] not in SUCCEEDED]
        output["channels_failed"] = [d["channel"] for d in failed]

        # When every failure is transient a retry can only help: the ledger skips the
        # channels already sent, so only the failed ones are tried again.
        if failed and all(d["retryable"] for d in failed) and not problems:
            summary = "; ".join(f"{d['channel']}: {d['error']}" for d in failed)
            raise NodeError(f"notification channels failed: {summary}", retryable=True)

        result.errors.extend(f"{d['channel']} ({d['driver']}): {d['error']}" for d in failed)
        if not failed and not problems:
            output["status"] = "sent"
        elif output["channels_succeeded"]:
            output["status"] = "partial"
        return self._finish(result, started)

    @classmethod
    def _suppressed(cls, result: NodeResult, started: float, why: str) -> NodeResult:
        result.output["status"] = "suppressed"
        result.skipped = True
        result.skip_reason = f"noise control: {why}"
        return cls._finish(result, started)

    @staticmethod
    def _finish(result: NodeResult, started: float) -> NodeResult:
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result
