"""The Claude provider: Anthropic's messages API through the ``anthropic`` SDK (optional extra).

Install with ``pip install .[claude]``; without the SDK the provider still loads and falls back
to ``local`` with a reason that says what is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from apps.intelligence.errors import (
    DestinationRefusedError,
    ProviderConfigError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    http_status_retryable,
)
from apps.intelligence.providers.ai import AIProvider, Completion, guard_refusal, token_count
from apps.intelligence.redaction import redact_text
from apps.outbound import OutboundBlockedError

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
    key_setting = "ANTHROPIC_API_KEY"
    base_url_setting = "ANTHROPIC_BASE_URL"
    label = "Anthropic"

    def _default_model(self) -> str:
        return DEFAULT_CLAUDE_MODEL

    def _check_config(self) -> None:
        _sdk()

    def _complete(
        self, messages: list[dict[str, str]], *, api_key: str, model: str, max_tokens: int
    ) -> Completion:
        anthropic = _sdk()
        # The messages API takes the system prompt apart from the conversation.
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        conversation = [m for m in messages if m["role"] != "system"]
        kwargs: dict[str, Any] = {}
        if self.config.get("temperature") is not None:
            kwargs["temperature"] = self.config["temperature"]
        with self._http_client() as http_client:
            client = anthropic.Anthropic(
                api_key=api_key,
                base_url=self._base_url(),
                timeout=self._timeout(),
                max_retries=self._max_retries(),
                http_client=http_client,
            )
            try:
                response = client.messages.create(
                    model=model,
                    max_tokens=max_tokens,
                    system=system,
                    messages=conversation,
                    **kwargs,
                )
            except OutboundBlockedError as exc:
                raise DestinationRefusedError(f"claude: {exc.message}") from exc
            except anthropic.APITimeoutError as exc:
                raise ProviderTimeoutError(f"claude: no reply within {self._timeout():g}s") from exc
            except anthropic.APIStatusError as exc:
                raise ProviderHTTPError(
                    f"claude: HTTP {exc.status_code}: {redact_text(str(exc), (api_key,))}",
                    status_code=exc.status_code,
                    retryable=http_status_retryable(exc.status_code),
                ) from exc
            except anthropic.APIConnectionError as exc:
                refusal = guard_refusal(exc)
                if refusal is not None:
                    raise DestinationRefusedError(f"claude: {refusal.message}") from exc
                raise ProviderHTTPError(
                    f"claude: cannot connect: {redact_text(str(exc), (api_key,))}", retryable=True
                ) from exc
            except anthropic.AnthropicError as exc:
                raise ProviderResponseError(f"claude: {redact_text(str(exc), (api_key,))}") from exc
            except ValueError as exc:
                # The SDK decodes the body itself and lets a JSONDecodeError escape.
                raise ProviderResponseError(f"claude: the reply is not JSON ({exc})") from exc
        return _completion(response, model)


def _completion(response: Any, model: str) -> Completion:
    """The reply as a ``Completion``; ``ProviderResponseError`` for anything that is not a
    messages API reply. The SDK builds its objects without validating them, so a malformed
    reply shows up here as missing fields or fields of another type."""
    try:
        blocks = response.content
        if not isinstance(blocks, list):
            raise ProviderResponseError("claude: the reply has no content blocks")
        texts = [block.text for block in blocks if getattr(block, "type", "") == "text"]
        if not all(isinstance(text, str) for text in texts):
            raise ProviderResponseError("claude: a text block of the reply is not text")
        usage = response.usage
        prompt_tokens = token_count(getattr(usage, "input_tokens", 0))
        completion_tokens = token_count(getattr(usage, "output_tokens", 0))
        return Completion(
            text="".join(texts),
            model=str(response.model or model),
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            truncated=response.stop_reason == "max_tokens",
        )
    except (AttributeError, TypeError, KeyError) as exc:
        raise ProviderResponseError("claude: the reply is not a messages API reply") from exc
