"""Carry the current run's trace_id and run_id into every log record.

The engine binds them around each node execution, so a log line written deep inside a
notify driver still says which run it belongs to.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")
_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")


@contextlib.contextmanager
def bind_run(trace_id: str, run_id: str) -> Iterator[None]:
    t = _trace_id.set(trace_id)
    r = _run_id.set(run_id)
    try:
        yield
    finally:
        _trace_id.reset(t)
        _run_id.reset(r)


class RunContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            record.trace_id = _trace_id.get()
        if not hasattr(record, "run_id"):
            record.run_id = _run_id.get()
        return True
