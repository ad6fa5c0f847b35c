"""Typed notify errors: a transport failure says whether another attempt can help."""

from __future__ import annotations


class NotifyError(Exception):
    """Sending failed. ``retryable`` is True for timeouts, 5xx, 429 and dropped connections;
    False for what a retry cannot fix (4xx, refused address, bad credentials)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class NotifyConfigError(ValueError):
    """A channel's configuration is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
