"""The JSON Schema of a pipeline definition's config (published in docs/pipeline.schema.json).

The schema checks shapes and types. Required keys (version, nodes, id, type) are checked by
``validation.py`` instead, so their errors keep the wording operators and scripts know.
"""

from __future__ import annotations

from typing import Any

from apps.noise.config import DEFINITION_PROPERTIES as NOISE_PROPERTIES

NODE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"

_RETRY_FIELDS: dict[str, Any] = {
    "max_retries": {"type": "integer", "minimum": 0, "maximum": 20},
    "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
    "retry_backoff_seconds": {"type": "number", "minimum": 0, "maximum": 3600},
    "retry_backoff_max_seconds": {"type": "number", "minimum": 0, "maximum": 86400},
}

PIPELINE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://alertpipes.dev/schemas/pipeline.schema.json",
    "title": "Pipeline definition config",
    "type": "object",
    "properties": {
        "version": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "defaults": {"type": "object", "properties": _RETRY_FIELDS, "additionalProperties": False},
        # Noise control (docs/noise.md): on_unchanged, repeat_interval, noise.
        **NOISE_PROPERTIES,
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "pattern": NODE_ID_PATTERN},
                    "type": {"type": "string"},
                    "config": {"type": "object"},
                    "next": {"type": ["string", "null"]},
                    "required": {"type": "boolean"},
                    "queue": {"type": "string", "minLength": 1, "maxLength": 200},
                    "skip_if_errors": {"type": "array", "items": {"type": "string"}},
                    "skip_if_condition": {"type": ["string", "object"]},
                    "description": {"type": "string"},
                    **_RETRY_FIELDS,
                },
                "additionalProperties": False,
            },
        },
    },
}
