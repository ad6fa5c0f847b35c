"""Self-hosted models behind an OpenAI-compatible API (Ollama, vLLM, LocalAI, llama.cpp)."""

from __future__ import annotations

from django.conf import settings

from apps.intelligence.errors import ProviderConfigError
from apps.intelligence.providers.openai import OpenAIProvider

# Most self-hosted servers ignore the key, but the SDK refuses to send a request without one.
PLACEHOLDER_KEY = "not-needed"


class OpenAICompatibleProvider(OpenAIProvider):
    """Same protocol as ``openai``; needs a base URL, the API key is optional."""

    name = "openai_compatible"
    description = "OpenAI-compatible self-hosted server (OPENAI_BASE_URL: Ollama, vLLM)"
    # Self-hosted servers mostly need no key: the placeholder goes, never OPENAI_API_KEY.
    own_key_with_base_url = False

    def _api_key(self) -> str:
        if self.config.get("api_key"):
            return str(self.config["api_key"])
        # The OPENAI_API_KEY setting goes only to the OPENAI_BASE_URL setting, never to a
        # server named in a pipeline definition.
        if not self.config.get("base_url") and settings.OPENAI_API_KEY:
            return str(settings.OPENAI_API_KEY)
        return PLACEHOLDER_KEY

    def _check_config(self) -> None:
        self._base_url()

    def _base_url(self) -> str:
        url = self.config.get("base_url") or settings.OPENAI_BASE_URL
        if not url:
            raise ProviderConfigError(
                "No base URL for openai_compatible: set OPENAI_BASE_URL or "
                "provider_config.base_url (e.g. http://127.0.0.1:11434/v1 for Ollama)"
            )
        return str(url)
