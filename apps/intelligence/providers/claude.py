"""The Claude provider: Anthropic's messages API through the ``anthropic`` SDK (optional extra).

Install with ``pip install .[claude]``; without the SDK the provider still loads and falls back
to ``local`` with a reason that says what is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from django.conf import settings

from apps.intelligence.errors import (
    MissingAPIKeyError,
    ProviderConfigError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    http_status_retryable,
)
from apps.intelligence.providers.ai import AIProvider, Completion
from apps.intelligence.redaction import redact_text

DEFAULT_CLAUDE_MODEL = "claude-sonnet-5"


def _sdk() -> ModuleType:
    try:
        return importlib.import_module("anthropic")
    except ImportError as exc:
        raise ProviderConfigError(
            "The anthropic SDK is not installed: pip install '.[claude]'"
        ) from exc


class ClaudeProvider(AIProvider):
    """Analysis by a Claude model; JSON is requested in the system prompt and validated."""

    name = "claude"
    description = "Anthropic Claude messages API (ANTHROPIC_API_KEY; optional extra 'claude')"

    def _default_model(self) -> str:
        return DEFAULT_CLAUDE_MODEL

    def _api_key(self) -> str:
        key = self.config.get("api_key") or settings.ANTHROPIC_API_KEY
        if not key:
            raise MissingAPIKeyError(
                "No Anthropic API key: set ANTHROPIC_API_KEY or provider_config.api_key"
            )
        return str(key)

    def _check_config(self) -> None:
        _sdk()

    def _complete(
        self, messages: list[dict[str, str]], *, api_key: str, model: str, max_tokens: int
    ) -> Completion:
        anthropic = _sdk()
        client = anthropic.Anthropic(
            api_key=api_key,
            base_url=self.config.get("base_url") or None,
            timeout=self._timeout(),
            max_retries=self._max_retries(),
        )
        # The messages API takes the system prompt apart from the conversation.
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        conversation = [m for m in messages if m["role"] != "system"]
        kwargs: dict[str, Any] = {}
        if self.config.get("temperature") is not None:
            kwargs["temperature"] = self.config["temperature"]
        try:
            response = client.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=system,
                messages=conversation,
                **kwargs,
            )
        except anthropic.APITimeoutError as exc:
            raise ProviderTimeoutError(f"claude: no reply within {self._timeout():g}s") from exc
        except anthropic.APIStatusError as exc:
            raise ProviderHTTPError(
                f"claude: HTTP {exc.status_code}: {redact_text(str(exc), (api_key,))}",
                status_code=exc.status_code,
                retryable=http_status_retryable(exc.status_code),
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderHTTPError(
                f"claude: cannot connect: {redact_text(str(exc), (api_key,))}", retryable=True
            ) from exc
        except anthropic.AnthropicError as exc:
            raise ProviderResponseError(f"claude: {redact_text(str(exc), (api_key,))}") from exc
        text = "".join(
            block.text for block in response.content if getattr(block, "type", "") == "text"
        )
        usage = response.usage
        prompt_tokens = getattr(usage, "input_tokens", 0) or 0
        completion_tokens = getattr(usage, "output_tokens", 0) or 0
        return Completion(
            text=text,
            model=response.model or model,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            truncated=response.stop_reason == "max_tokens",
        )
