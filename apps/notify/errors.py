"""Typed notify errors: a transport failure says whether another attempt can help."""

from __future__ import annotations


class NotifyError(Exception):
    """Sending failed. ``retryable`` is True for timeouts, 5xx, 429 and dropped connections;
    False for what a retry cannot fix (4xx, refused address, bad credentials).

    ``ambiguous`` means the request went out and no answer came back (a read timeout, a
    connection dropped after sending): the receiver may have acted on it.
    """

    def __init__(self, message: str, *, retryable: bool = False, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable or ambiguous
        self.ambiguous = ambiguous


class NotifyConfigError(ValueError):
    """A channel's configuration is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
