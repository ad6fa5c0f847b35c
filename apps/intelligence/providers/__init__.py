"""Intelligence providers, in the order the setup wizard numbers them.

Adding a provider is one module with a ``BaseProvider`` subclass plus one line here.
"""

from __future__ import annotations

from typing import Any

from apps.intelligence.errors import UnknownProviderError
from apps.intelligence.providers.base import BaseProvider
from apps.intelligence.providers.claude import ClaudeProvider
from apps.intelligence.providers.local import LocalProvider
from apps.intelligence.providers.openai import OpenAIProvider
from apps.intelligence.providers.openai_compatible import OpenAICompatibleProvider

PROVIDERS: dict[str, type[BaseProvider]] = {
    "local": LocalProvider,
    "openai": OpenAIProvider,
    "claude": ClaudeProvider,
    "openai_compatible": OpenAICompatibleProvider,
}


def get_provider(name: str, **config: Any) -> BaseProvider:
    """A provider built with ``config``.

    Raises ``UnknownProviderError`` (a ``KeyError``) naming the known providers for an unknown
    ``name``, and ``ProviderConfigError`` when ``config`` is invalid.
    """
    if name not in PROVIDERS:
        raise UnknownProviderError(f"Unknown provider: {name}. Available: {list(PROVIDERS)}")
    return PROVIDERS[name](**config)


__all__ = ["PROVIDERS", "BaseProvider", "get_provider"]
