"""How the engine hands on work: a ``Step`` ("run node X, attempt N, after S seconds") given
to a ``Runner``.

The engine never calls Celery or starts threads itself. ``InlineRunner`` (here) queues steps
for a loop in the calling thread; the Celery runner (``apps.orchestration.celery_runner``)
publishes them after the commit; the embedded background runner
(``apps.orchestration.inprocess``) runs them on this process's own threads after the commit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    run_id: str
    node: dict[str, Any]
    attempt: int
    timeout: float
    countdown: float = 0.0
    # After this moment the step must not start from this message (recovery publishes anew).
    expires: datetime | None = None


@dataclass
class Runner:
    """Schedules node executions and says who is executing the current one.

    ``claim_token`` is set by the engine once this runner's execution holds its claim, so a
    task retried after a database error can take back exactly its own claim.
    """

    task_id: str = ""
    worker: str = ""
    claim_token: str = ""

    def schedule(self, step: Step) -> None:
        raise NotImplementedError

    def backlog(self, step: Step) -> int | None:
        """How many steps wait ahead of ``step``'s queue, or None when nobody can tell.

        Recovery re-publishes a step that never started only when nothing waits ahead of it
        (its message was lost), not when it is merely queued behind others.
        """
        return None

    def records_dispatch(self) -> bool:
        """Whether scheduling a step means its message exists once the transaction commits
        (False: the runner records it later, once it has published it)."""
        return True

    def max_countdown(self) -> float | None:
        """The longest delay a step may be handed on with; longer waits are kept in the
        database and published by recovery when due. None: no limit."""
        return None


@dataclass
class InlineRunner(Runner):
    """Steps for a loop in this thread (``drain``): the CLI and ``execute()``."""

    pending: deque[Step] = field(default_factory=deque)

    def schedule(self, step: Step) -> None:
        self.pending.append(step)

    def drain(self) -> None:
        """Run the scheduled steps here until the run ends, sleeping out retry backoff (only
        the CLI and ``execute()`` wait like this; webhooks use a background runner)."""
        from apps.orchestration.engine import process_node

        while self.pending:
            step = self.pending.popleft()
            if step.countdown:
                time.sleep(step.countdown)
            process_node(step.run_id, step.node["id"], step.attempt, self)


# Who runs a step when a caller (an operator's retry) names no runner. The app sets it at
# start to the configured choice (Celery, or this process's threads); the engine itself
# knows no runner but its own.
_default_runner: Callable[[], Runner] = InlineRunner


def set_default_runner(factory: Callable[[], Runner]) -> None:
    global _default_runner
    _default_runner = factory


def default_runner() -> Runner:
    return _default_runner()
