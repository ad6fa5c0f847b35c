"""Typed errors for pipeline nodes.

A handler raises ``NodeError`` when it cannot do its work. ``retryable`` says whether trying
again can help (a timeout, a 5xx, a 429) or not (bad config, a 4xx): the engine retries only
the former, with exponential backoff, up to the node's ``max_retries``.
"""

from __future__ import annotations


class NodeError(Exception):
    """A node failed. ``retryable`` tells the engine whether another attempt may succeed."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class RetryableNodeError(NodeError):
    """A transient failure: the engine retries the node with backoff."""

    retryable = True


class NodeTimeoutError(RetryableNodeError):
    """The node ran past its ``timeout_seconds``."""


class NodeAbandonedError(NodeError):
    """An attempt was started ``PIPELINE_NODE_MAX_STARTS`` times and never finished: its
    worker died every time (killed, out of memory). Another start would only loop."""


class NodeFailedError(Exception):
    """Raised by the Celery task after it recorded a node as failed, so Flower and the
    result backend show the task as failed (declared expected: logged without traceback)."""


class DefinitionInvalidError(ValueError):
    """A pipeline definition failed validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("Pipeline definition invalid:\n  - " + "\n  - ".join(errors))
        self.errors = errors
