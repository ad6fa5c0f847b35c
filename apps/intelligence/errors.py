"""Typed errors of the intelligence providers.

Every failure of a provider is a ``ProviderError`` whose ``retryable`` flag says whether another
attempt may succeed (a timeout, a 5xx, a 429) or not (bad config, missing key, exhausted budget).
AI providers catch them to fall back to the local rule engine; with ``fallback: false`` they
propagate so the node can hand the flag to the engine's retry policy.
"""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    """A provider could not produce recommendations."""

    retryable: bool = False
    code: str = "provider_error"

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class UnknownProviderError(ProviderError, KeyError):
    """``get_provider`` was asked for a name that is not in ``PROVIDERS``."""

    code = "unknown_provider"

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return self.message


class ProviderConfigError(ProviderError):
    """The provider's configuration is invalid or incomplete (including a missing API key)."""

    code = "config_error"


class MissingAPIKeyError(ProviderConfigError):
    code = "missing_api_key"


class DestinationRefusedError(ProviderConfigError):
    """The outbound guard refused the API's address (private, loopback, not allow-listed)."""

    code = "destination_refused"


class BudgetExceededError(ProviderError):
    """The run's token budget cannot cover this request."""

    code = "budget_exceeded"


class ProviderTimeoutError(ProviderError):
    code = "timeout"
    retryable = True


class ProviderHTTPError(ProviderError):
    """The API answered with an error status or could not be reached."""

    code = "http_error"

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status_code": self.status_code}


class ProviderResponseError(ProviderError):
    """The reply was not JSON, or did not match the recommendations schema."""

    code = "invalid_reply"


def http_status_retryable(status_code: int | None) -> bool:
    """Whether an HTTP failure is worth retrying: no status (connection), 408, 409, 429, 5xx."""
    return status_code is None or status_code in (408, 409, 429) or status_code >= 500
