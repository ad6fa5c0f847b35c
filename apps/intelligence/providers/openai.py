"""The OpenAI provider: chat completions through the official ``openai`` SDK."""

from __future__ import annotations

from typing import Any, ClassVar

import openai
from django.conf import settings
from pydantic import Field

from apps.intelligence.errors import (
    MissingAPIKeyError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    http_status_retryable,
)
from apps.intelligence.providers.ai import AIOptions, AIProvider, Completion
from apps.intelligence.redaction import redact_text


class OpenAIOptions(AIOptions):
    json_mode: bool | None = Field(
        None, description="Send response_format=json_object (default true)"
    )


class OpenAIProvider(AIProvider):
    """Analysis by an OpenAI model, asked for a JSON object (``response_format``)."""

    name = "openai"
    description = "OpenAI chat completions (OPENAI_API_KEY, OPENAI_MODEL)"
    Options: ClassVar[type[AIOptions]] = OpenAIOptions

    def _default_model(self) -> str:
        # Read at call time so tests and deployments can override the setting.
        return settings.OPENAI_MODEL or "gpt-4o-mini"

    def _api_key(self) -> str:
        key = self.config.get("api_key") or settings.OPENAI_API_KEY
        if not key:
            raise MissingAPIKeyError(
                "No OpenAI API key: set OPENAI_API_KEY or provider_config.api_key"
            )
        return str(key)

    def _base_url(self) -> str | None:
        return self.config.get("base_url") or settings.OPENAI_BASE_URL or None

    def _complete(
        self, messages: list[dict[str, str]], *, api_key: str, model: str, max_tokens: int
    ) -> Completion:
        client = openai.OpenAI(
            api_key=api_key,
            base_url=self._base_url(),
            timeout=self._timeout(),
            max_retries=self._max_retries(),
        )
        kwargs: dict[str, Any] = {}
        if self.config.get("json_mode", True):
            kwargs["response_format"] = {"type": "json_object"}
        if self.config.get("temperature") is not None:
            kwargs["temperature"] = self.config["temperature"]
        try:
            response = client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, **kwargs
            )
        except openai.APITimeoutError as exc:
            raise ProviderTimeoutError(
                f"{self.name}: no reply within {self._timeout():g}s"
            ) from exc
        except openai.APIStatusError as exc:
            raise ProviderHTTPError(
                f"{self.name}: HTTP {exc.status_code}: {redact_text(str(exc), (api_key,))}",
                status_code=exc.status_code,
                retryable=http_status_retryable(exc.status_code),
            ) from exc
        except openai.APIConnectionError as exc:
            raise ProviderHTTPError(
                f"{self.name}: cannot connect: {redact_text(str(exc), (api_key,))}", retryable=True
            ) from exc
        except openai.OpenAIError as exc:
            # Response validation and other SDK errors: the reply cannot be used.
            message = redact_text(str(exc), (api_key,))
            raise ProviderResponseError(f"{self.name}: {message}") from exc
        return _completion(response, self.name)


def _completion(response: Any, provider: str) -> Completion:
    if not response.choices:
        raise ProviderResponseError(f"{provider}: the reply has no choices")
    choice = response.choices[0]
    usage = response.usage
    return Completion(
        text=choice.message.content or "",
        model=response.model or "",
        usage={
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
            "total_tokens": getattr(usage, "total_tokens", 0) or 0,
        },
        truncated=choice.finish_reason == "length",
    )
