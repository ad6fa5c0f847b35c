"""The intelligence node: analyse the run's incident and earlier outputs with a provider.

Config (seed format)::

    {"provider": "openai", "provider_config": {"model": "gpt-4o-mini", "timeout": 20}}

Output: ``provider``, ``recommendations``, ``count``, ``summary``, ``description``, plus
``provider_used``, ``fallback_used``/``fallback_reason`` when an AI provider fell back to the
local rules, ``exchange`` (the redacted prompt and reply) and ``tokens_used`` for the run's
token budget. When noise control says not to analyse (docs/noise.md), the incident's last
analysis is reused (``reused``, ``reused_from_run``) or the node is skipped saying why.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from apps.orchestration.errors import NodeError
from apps.orchestration.nodes.base import BaseNodeHandler, NodeContext, NodeResult, NodeType

logger = logging.getLogger(__name__)


class IntelligenceNodeHandler(BaseNodeHandler):
    node_type = NodeType.INTELLIGENCE
    name = "intelligence"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        # Imported here: node handlers load with the orchestration app, providers with theirs.
        from apps.intelligence.context import AnalysisContext
        from apps.intelligence.errors import ProviderConfigError, ProviderError
        from apps.intelligence.providers import get_provider
        from apps.noise.decide import decision_in

        started = time.perf_counter()
        result = self.result(ctx, config)
        problems = self.validate_config(config)
        if problems:
            result.errors.extend(problems)
            return result
        noise = decision_in(ctx.previous_outputs)
        if noise is not None and not noise.get("analyze"):
            return self._without_analysis(ctx, config, result, noise, started)
        provider_name = config["provider"]
        try:
            provider = get_provider(provider_name, **(config.get("provider_config") or {}))
        except ProviderConfigError as exc:
            result.errors.append(f"Invalid provider_config: {exc.message}")
            return result

        incident = ctx.incident_summary()
        context = AnalysisContext.from_outputs(
            ctx.previous_outputs, trace_id=ctx.trace_id, run_id=ctx.run_id
        )
        try:
            analysis = provider.analyze(incident, context)
        except ProviderError as exc:
            # Only reached with provider_config.fallback = false: let the engine decide.
            raise NodeError(
                f"Intelligence provider {provider_name} failed: {exc.message}",
                retryable=exc.retryable,
            ) from exc

        output = analysis.to_dict()
        output["incident_id"] = ctx.incident_id
        output["incident_found"] = incident is not None if ctx.incident_id is not None else None
        result.output = output
        if noise is not None:
            # Later runs inside the analysis cooldown reuse this one (docs/noise.md).
            from apps.noise.services import record_analysis

            record_analysis(ctx.incident_id, ctx.run_id, output)
        result.duration_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "intelligence node %s: %s recommendations from %s%s",
            result.node_id,
            output["count"],
            output["provider_used"],
            " (fallback)" if output["fallback_used"] else "",
            extra={"trace_id": ctx.trace_id, "run_id": ctx.run_id},
        )
        return result

    def _without_analysis(
        self,
        ctx: NodeContext,
        config: dict[str, Any],
        result: NodeResult,
        noise: dict[str, Any],
        started: float,
    ) -> NodeResult:
        """Noise control said no analysis: reuse the incident's last one, or skip."""
        from apps.noise.services import reusable_analysis

        found = reusable_analysis(ctx.incident_id) if noise.get("reuse_analysis") else None
        result.duration_ms = (time.perf_counter() - started) * 1000
        if found is not None:
            analysis, run_id = found
            result.output = {
                **analysis,
                "incident_id": ctx.incident_id,
                "reused": True,
                "reused_from_run": run_id,
            }
            return result
        if not noise.get("notify"):
            why = f"nobody is notified ({noise.get('kind')}: {noise.get('reason')})"
        elif noise.get("reuse_analysis"):
            why = "one analysis per incident per cooldown, and the last one is not finished yet"
        else:
            why = f"{noise.get('kind')} messages are not analysed"
        result.skipped = True
        result.skip_reason = f"noise control: {why}"
        result.output = {
            "provider": config["provider"],
            "recommendations": [],
            "count": 0,
            "incident_id": ctx.incident_id,
            "analysis_skipped": True,
        }
        return result

    def validate_config(self, config: dict[str, Any]) -> list[str]:
        from apps.intelligence.providers import PROVIDERS

        if "provider" not in config:
            return ["Missing required field: provider"]
        provider = config["provider"]
        if not isinstance(provider, str):
            return ["provider must be a string"]
        if provider not in PROVIDERS:
            return [f"Unknown provider: {provider}. Available: {list(PROVIDERS.keys())}"]
        provider_config = config.get("provider_config") or {}
        if not isinstance(provider_config, dict):
            return ["provider_config must be an object"]
        return PROVIDERS[provider].validate_config(provider_config)
