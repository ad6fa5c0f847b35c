"""Typed errors raised while turning a webhook payload into alerts.

The distinction matters to callers: ``UnknownEventError`` means the payload *is* from the
source but describes an event we deliberately do not handle (a note added, a ping), so the
webhook answers 2xx and the sender does not retry forever. ``PayloadNotRecognizedError``
means the payload is not from that source at all (or from no source), which is a client error.
"""

from __future__ import annotations


class AlertPayloadError(ValueError):
    """Base class: the payload could not be turned into alerts."""


class PayloadNotRecognizedError(AlertPayloadError):
    """The payload is not in the source's format; the message says why."""

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class UnknownEventError(AlertPayloadError):
    """The payload is from ``source`` but its event type is one we do not handle."""

    def __init__(self, source: str, event_type: str, message: str = "") -> None:
        self.source = source
        self.event_type = event_type
        self.message = message or f"{source} event '{event_type}' is not handled; ignored"
        super().__init__(self.message)
