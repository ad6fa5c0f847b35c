"""Shared mechanics of the AI providers: prompt, budget, record, validation and fallback.

A concrete AI provider only implements ``_complete`` (send the messages, return the reply text
and token usage, translate its SDK's exceptions into ``ProviderError``) and ``_api_key``.

Where keys may go (issue 8): the server's key (``key_setting``) is sent only to the endpoint
configured in settings (``base_url_setting``, else the SDK's default). A definition that names
its own ``base_url`` must bring its own ``api_key`` (refused when saved, and again at run time),
and every connection, to whichever endpoint, passes the outbound guard (``apps.outbound``).
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from pydantic import Field

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import (
    BudgetExceededError,
    DestinationRefusedError,
    MissingAPIKeyError,
    ProviderConfigError,
    ProviderError,
    ProviderResponseError,
)
from apps.intelligence.prompts import build_messages, estimate_tokens, parse_reply
from apps.intelligence.providers.base import BaseProvider, LiveOptions
from apps.intelligence.providers.local import LocalProvider
from apps.intelligence.recommendations import Analysis
from apps.intelligence.redaction import redact, redact_text
from apps.intelligence.system import with_live_system
from apps.outbound import OutboundBlockedError, check_destination, url_problems
from apps.outbound.transports import guarded_httpx_client

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_TOKENS = 1024
DEFAULT_MAX_RETRIES = 1
# Below this many completion tokens a structured answer cannot fit: refuse rather than truncate.
MIN_COMPLETION_TOKENS = 128


class AIOptions(LiveOptions):
    """``provider_config`` of the AI providers."""

    model: str | None = Field(None, description="Model name")
    api_key: str | None = Field(None, description="API key (prefer the environment setting)")
    base_url: str | None = Field(None, description="API base URL")
    timeout: float | None = Field(None, gt=0, description="Seconds to wait for a reply")
    max_tokens: int | None = Field(None, gt=0, description="Completion token limit")
    max_retries: int | None = Field(None, ge=0, description="SDK retries on 429/5xx/timeouts")
    token_budget: int | None = Field(
        None, ge=0, description="Tokens the run may spend (INTELLIGENCE_TOKEN_BUDGET)"
    )
    temperature: float | None = Field(None, ge=0, description="Sampling temperature")
    fallback: bool | None = Field(
        None, description="Fall back to the local provider on failure (default true)"
    )
    local: dict[str, Any] | None = Field(None, description="provider_config of the local fallback")


@dataclass
class Completion:
    """A model's raw reply."""

    text: str
    model: str
    usage: dict[str, int]
    truncated: bool = False  # stopped at max_tokens: the JSON is almost surely incomplete


class AIProvider(BaseProvider):
    """An LLM-backed provider; falls back to ``local`` when the model cannot answer."""

    Options: ClassVar[type[AIOptions]] = AIOptions
    # The settings holding the server's key and the endpoint that key belongs to.
    key_setting: ClassVar[str] = ""
    base_url_setting: ClassVar[str] = ""
    label: ClassVar[str] = ""  # the vendor's name, in messages
    # False where a server named by the definition may be used without a key (self-hosted).
    own_key_with_base_url: ClassVar[bool] = True

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        errors = super().validate_config(config)
        base_url = config.get("base_url")
        if isinstance(base_url, str) and base_url:
            errors += [f"provider_config.base_url {p}" for p in url_problems(base_url)]
            if cls.own_key_with_base_url and not config.get("api_key"):
                errors.append(cls._own_key_message())
        return errors

    @classmethod
    def _own_key_message(cls) -> str:
        where = (
            f"{cls.base_url_setting} or the provider's API"
            if cls.base_url_setting
            else ("the provider's API")
        )
        return (
            "provider_config.base_url names its own server, so provider_config.api_key is "
            f"required: the server's {cls.key_setting} is only sent to {where}"
        )

    def _api_key(self) -> str:
        """The definition's key, else the server's (never for a definition's own base_url);
        ``MissingAPIKeyError`` when there is none."""
        if self.config.get("api_key"):
            return str(self.config["api_key"])
        if self.config.get("base_url"):
            # Checked when saved too; a definition stored before that rule stops here.
            raise MissingAPIKeyError(self._own_key_message())
        key = getattr(settings, self.key_setting, "")
        if not key:
            raise MissingAPIKeyError(
                f"No {self.label} API key: set {self.key_setting} or provider_config.api_key"
            )
        return str(key)

    def _base_url(self) -> str | None:
        """The API base URL: the definition's, else the settings one, else None (the SDK's
        default endpoint)."""
        configured = getattr(settings, self.base_url_setting, "") if self.base_url_setting else ""
        return self.config.get("base_url") or configured or None

    def _trusted_hosts(self) -> tuple[str, ...]:
        # The operator's endpoint from the environment is trusted for its own connections
        # (an Ollama on 127.0.0.1); a URL from a definition never is.
        url = self._base_url()
        if not url or self.config.get("base_url"):
            return ()
        host = urlsplit(url).hostname
        return (host,) if host else ()

    def _check_endpoint(self) -> None:
        """Refuse before sending when the guard would refuse the endpoint (its SDK would
        otherwise retry the refusal with backoff); the connect-time check still runs."""
        url = self._base_url()
        if url is None:
            return
        problems = url_problems(url)
        if problems:
            raise ProviderConfigError(f"{self.name}: base_url {problems[0]}")
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            check_destination(parts.hostname or "", port, self._trusted_hosts())
        except OutboundBlockedError as exc:
            raise DestinationRefusedError(f"{self.name}: {exc.message}") from exc

    def _http_client(self) -> httpx2.Client:
        """The httpx client the SDK must use: every connection through the outbound guard."""
        return guarded_httpx_client(timeout=self._timeout(), extra_allowed=self._trusted_hosts())

    @abstractmethod
    def _complete(
        self, messages: list[dict[str, str]], *, api_key: str, model: str, max_tokens: int
    ) -> Completion:
        """Send ``messages``; raise ``ProviderError`` subclasses on every failure."""

    @abstractmethod
    def _default_model(self) -> str:
        """The model used when the config names none."""

    def _check_config(self) -> None:
        """Raise ``ProviderConfigError`` for settings that make a request pointless."""

    def _model(self) -> str:
        return str(self.config.get("model") or self._default_model())

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.config.get("api_key"),) if s)

    def analyze(self, incident: dict[str, Any] | None, context: AnalysisContext) -> Analysis:
        model = self._model()
        context, _ = with_live_system(context, incident, self.config)
        messages = build_messages(incident, context, self._secrets())
        exchange: dict[str, Any] = {"model": model, "messages": messages, "sent": False}
        started = time.monotonic()
        try:
            analysis = self._ask(incident, context, messages, model, exchange)
        except ProviderError as exc:
            exchange["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
            exchange["error"] = redact(exc.to_dict(), self._secrets() + self._key_or_empty())
            if self.config.get("fallback") is False:
                raise
            logger.warning(
                "intelligence provider %s failed (%s), falling back to local: %s",
                self.name,
                exc.code,
                exc.message,
                extra={"trace_id": context.trace_id, "run_id": context.run_id},
            )
            analysis = LocalProvider(**(self.config.get("local") or {})).analyze(incident, context)
            analysis.provider = self.name
            analysis.provider_used = "local"
            analysis.model = model
            analysis.fallback_used = True
            analysis.fallback_reason = exchange["error"]["message"]
            analysis.error = exchange["error"]
            analysis.tokens_used = int(exchange.get("usage", {}).get("total_tokens", 0))
            analysis.usage = exchange.get("usage")
        else:
            exchange["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        analysis.exchange = exchange
        return analysis

    def _ask(
        self,
        incident: dict[str, Any] | None,
        context: AnalysisContext,
        messages: list[dict[str, str]],
        model: str,
        exchange: dict[str, Any],
    ) -> Analysis:
        api_key = self._api_key()
        self._check_config()
        self._check_endpoint()
        # Redact again with the resolved key: it may come from settings, not the config.
        messages = redact(messages, (api_key,))
        exchange["messages"] = messages
        max_tokens = self._max_tokens_within_budget(messages, context)
        exchange["max_tokens"] = max_tokens
        exchange["sent"] = True
        completion = self._complete(messages, api_key=api_key, model=model, max_tokens=max_tokens)
        if not isinstance(completion.text, str):
            raise ProviderResponseError(f"{self.name}: the reply's text is not a string")
        secrets = self._secrets() + (api_key,)
        exchange["reply"] = redact_text(completion.text, secrets)
        exchange["usage"] = completion.usage
        if completion.truncated:
            raise ProviderResponseError(
                f"{self.name}: the reply was cut off at max_tokens={max_tokens}"
            )
        summary, recs = parse_reply(completion.text)
        for rec in recs:
            # The model may echo anything it was sent; recorded output must stay clean.
            rec.title = redact_text(rec.title, secrets)
            rec.description = redact_text(rec.description, secrets)
            rec.details = redact(rec.details, secrets)
            rec.actions = [redact_text(a, secrets) for a in rec.actions]
        return Analysis(
            provider=self.name,
            recommendations=recs,
            summary=redact_text(summary, secrets),
            model=completion.model or model,
            usage=completion.usage,
            tokens_used=int(completion.usage.get("total_tokens", 0)),
        )

    def _key_or_empty(self) -> tuple[str, ...]:
        try:
            return (self._api_key(),)
        except ProviderError:
            return ()

    def _max_tokens_within_budget(
        self, messages: list[dict[str, str]], context: AnalysisContext
    ) -> int:
        """The completion limit the run's remaining token budget allows."""
        budget = self.config.get("token_budget")
        if budget is None:
            budget = settings.INTELLIGENCE_TOKEN_BUDGET
        remaining = budget - context.tokens_used
        prompt_tokens = estimate_tokens(messages)
        wanted = int(self.config.get("max_tokens") or DEFAULT_MAX_TOKENS)
        allowed = min(wanted, remaining - prompt_tokens)
        if allowed < min(wanted, MIN_COMPLETION_TOKENS):
            raise BudgetExceededError(
                f"Token budget exceeded: the prompt needs ~{prompt_tokens} tokens plus "
                f"{min(wanted, MIN_COMPLETION_TOKENS)} for the reply, but only "
                f"{max(remaining, 0)} of {budget} remain in this run"
            )
        return allowed

    def _timeout(self) -> float:
        return float(self.config.get("timeout") or DEFAULT_TIMEOUT)

    def _max_retries(self) -> int:
        retries = self.config.get("max_retries")
        return DEFAULT_MAX_RETRIES if retries is None else int(retries)


def guard_refusal(exc: BaseException) -> OutboundBlockedError | None:
    """The guard's refusal behind an SDK error (SDKs wrap what the transport raised)."""
    seen: BaseException | None = exc
    for _ in range(10):  # chains are short; a bound instead of cycle bookkeeping
        if seen is None or isinstance(seen, OutboundBlockedError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def token_count(value: Any) -> int:
    """A token count from a reply; anything but a positive integer counts as 0 (replies are
    not validated by the SDKs, and a malformed count must not fail the analysis)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
