"""Keep secrets out of prompts and recorded output.

Incident labels and annotations come from outside (webhooks) and may carry tokens; API keys
must never appear in a run's recorded output. Everything recorded or sent passes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_PATTERNS = [
    # OpenAI / Anthropic style keys (sk-..., sk-proj-..., sk-ant-...)
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    # Slack tokens, GitHub tokens, AWS access keys
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    # Authorization headers
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{12,}=*"),
    # key=value / "key": "value" pairs whose key names a secret
    re.compile(
        r"(?i)((?:api[_-]?key|apikey|secret|token|password|passwd|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]{4,})"
    ),
]
_SECRET_KEY_NAMES = re.compile(
    r"(?i)(api[_-]?key|apikey|secret|token(?!s)|password|passwd|authorization|credential|private[_-]?key)"
)


def redact_text(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """``text`` with anything that looks like a credential replaced by ``[REDACTED]``."""
    for secret in extra_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, extra_secrets: Iterable[str] = ()) -> Any:
    """A deep copy of a JSON-like value with secret-named keys and key-like strings redacted."""
    secrets = tuple(s for s in extra_secrets if s)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_KEY_NAMES.search(str(k)) and v else redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
