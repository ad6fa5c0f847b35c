"""The prompt AI providers send and the validation of what comes back.

The model is asked for one JSON object matching ``REPLY_SCHEMA``; the reply is parsed and
validated before any recommendation is built from it, so a chatty or truncated answer becomes
a typed ``ProviderResponseError`` (and the local fallback) instead of garbage in the run.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import jsonschema

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderResponseError
from apps.intelligence.recommendations import PRIORITIES, Recommendation
from apps.intelligence.redaction import redact

MAX_ALERTS = 20
MAX_CHECKS = 30
MAX_PROCESSES = 10
MAX_TEXT = 2000  # characters kept of any one free-text field

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["recommendations"],
    "properties": {
        "summary": {"type": "string"},
        "recommendations": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["type", "priority", "title", "description"],
                "properties": {
                    "type": {"type": "string", "minLength": 1},
                    "priority": {"enum": list(PRIORITIES)},
                    "title": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "details": {"type": "object"},
                    "actions": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

SYSTEM_PROMPT = (
    "You are an experienced site reliability engineer. You analyse an incident and the "
    "measurements taken on the affected system, and recommend what the on-call operator "
    "should check and do. Answer with ONE JSON object and nothing else, matching this JSON "
    "Schema:\n"
    + json.dumps(REPLY_SCHEMA)
    + "\n'type' names the cause (memory, disk, cpu, process, network, or another short word), "
    "'priority' is one of critical, high, medium, low; 'actions' are concrete commands or "
    "steps; order recommendations from most to least important. If nothing is wrong, return "
    'an empty "recommendations" list with a summary saying so.'
)


def build_messages(
    incident: dict[str, Any] | None, context: AnalysisContext, secrets: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Chat messages (system + user) for ``incident`` and ``context``; secrets redacted."""
    facts: dict[str, Any] = {}
    if incident:
        facts["incident"] = _incident_facts(incident)
        task = "Analyse this incident and recommend actions."
    else:
        task = "No incident is open: review the system's health and recommend actions."
    if context.checks:
        facts["checks"] = context.checks[:MAX_CHECKS]
    if context.system:
        system = dict(context.system)
        if isinstance(system.get("processes"), list):
            system["processes"] = system["processes"][:MAX_PROCESSES]
        facts["system"] = system
    if context.signals:
        facts["signals"] = context.signals
    body = json.dumps(redact(facts, secrets), indent=1, sort_keys=True, default=str)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"{task}\n\n{body}"},
    ]


def _incident_facts(incident: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "status", "severity", "description", "source", "created_at")
    facts = {k: _clip(incident[k]) for k in keys if incident.get(k) not in (None, "")}
    alerts = [a for a in incident.get("alerts") or [] if isinstance(a, dict)]
    facts["alerts"] = [
        {k: _clip(v) for k, v in alert.items() if k != "fingerprint"}
        for alert in alerts[:MAX_ALERTS]
    ]
    # The summary itself may already hold only the most recent alerts of a large incident.
    total = incident.get("alert_count") if isinstance(incident.get("alert_count"), int) else 0
    omitted = max(total, len(alerts)) - len(facts["alerts"])
    if omitted > 0:
        facts["alerts_omitted"] = omitted
    return facts


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """A conservative token estimate (~4 characters a token) used before anything is sent."""
    chars = sum(len(m["content"]) + 8 for m in messages)
    return math.ceil(chars / 4)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_reply(text: str | None) -> tuple[str, list[Recommendation]]:
    """Summary and recommendations from a model's reply; ``ProviderResponseError`` if invalid."""
    if not text or not text.strip():
        raise ProviderResponseError("The model returned an empty reply")
    # Self-hosted models often wrap JSON in a Markdown fence even when told not to.
    match = _FENCE.match(text)
    raw = match.group(1) if match else text
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProviderResponseError(f"The model's reply is not valid JSON: {exc}") from exc
    try:
        jsonschema.validate(data, REPLY_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ProviderResponseError(
            f"The model's reply does not match the schema at {where}: {exc.message}"
        ) from exc
    recs = [Recommendation.from_dict(item) for item in data["recommendations"]]
    return str(data.get("summary") or ""), recs
