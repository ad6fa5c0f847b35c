"""The OpenAI provider: chat completions through the official ``openai`` SDK."""

from __future__ import annotations

from typing import Any, ClassVar

import openai
from django.conf import settings
from pydantic import Field

from apps.intelligence.errors import (
    DestinationRefusedError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    http_status_retryable,
)
from apps.intelligence.providers.ai import (
    AIOptions,
    AIProvider,
    Completion,
    guard_refusal,
    token_count,
)
from apps.intelligence.redaction import redact_text
from apps.outbound import OutboundBlockedError


class OpenAIOptions(AIOptions):
    json_mode: bool | None = Field(
        None, description="Send response_format=json_object (default true)"
    )


class OpenAIProvider(AIProvider):
    """Analysis by an OpenAI model, asked for a JSON object (``response_format``)."""

    name = "openai"
    description = "OpenAI chat completions (OPENAI_API_KEY, OPENAI_MODEL)"
    Options: ClassVar[type[AIOptions]] = OpenAIOptions
    key_setting = "OPENAI_API_KEY"
    base_url_setting = "OPENAI_BASE_URL"
    label = "OpenAI"

    def _default_model(self) -> str:
        # Read at call time so tests and deployments can override the setting.
        return settings.OPENAI_MODEL or "gpt-4o-mini"

    def _complete(
        self, messages: list[dict[str, str]], *, api_key: str, model: str, max_tokens: int
    ) -> Completion:
        kwargs: dict[str, Any] = {}
        if self.config.get("json_mode", True):
            kwargs["response_format"] = {"type": "json_object"}
        if self.config.get("temperature") is not None:
            kwargs["temperature"] = self.config["temperature"]
        with self._http_client() as http_client:
            client = openai.OpenAI(
                api_key=api_key,
                base_url=self._base_url(),
                timeout=self._timeout(),
                max_retries=self._max_retries(),
                http_client=http_client,
            )
            response = self._create(client, api_key, model, messages, max_tokens, kwargs)
        return _completion(response, self.name)

    def _create(
        self,
        client: openai.OpenAI,
        api_key: str,
        model: str,
        messages: list[dict[str, str]],
        max_tokens: int,
        kwargs: dict[str, Any],
    ) -> Any:
        try:
            return client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, **kwargs
            )
        except OutboundBlockedError as exc:  # raised by the transport, passed through
            raise DestinationRefusedError(f"{self.name}: {exc.message}") from exc
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
            refusal = guard_refusal(exc)
            if refusal is not None:
                raise DestinationRefusedError(f"{self.name}: {refusal.message}") from exc
            raise ProviderHTTPError(
                f"{self.name}: cannot connect: {redact_text(str(exc), (api_key,))}", retryable=True
            ) from exc
        except openai.OpenAIError as exc:
            # Response validation and other SDK errors: the reply cannot be used.
            message = redact_text(str(exc), (api_key,))
            raise ProviderResponseError(f"{self.name}: {message}") from exc
        except ValueError as exc:
            # The SDK decodes the body itself and lets a JSONDecodeError escape.
            raise ProviderResponseError(f"{self.name}: the reply is not JSON ({exc})") from exc


def _completion(response: Any, provider: str) -> Completion:
    """The reply as a ``Completion``; ``ProviderResponseError`` for anything that is not a
    chat completion (the SDK does not validate replies, so any field may be missing or of
    another type)."""
    try:
        choices = response.choices
        if not choices:
            raise ProviderResponseError(f"{provider}: the reply has no choices")
        choice = choices[0]
        text = choice.message.content or ""
        if not isinstance(text, str):
            raise ProviderResponseError(f"{provider}: the reply's content is not text")
        usage = response.usage
        return Completion(
            text=text,
            model=str(response.model or ""),
            usage={
                "prompt_tokens": token_count(getattr(usage, "prompt_tokens", 0)),
                "completion_tokens": token_count(getattr(usage, "completion_tokens", 0)),
                "total_tokens": token_count(getattr(usage, "total_tokens", 0)),
            },
            truncated=choice.finish_reason == "length",
        )
    except (AttributeError, TypeError, IndexError, KeyError) as exc:
        raise ProviderResponseError(f"{provider}: the reply is not a chat completion") from exc
