"""A cursor for the few statements every request or node runs.

On PostgreSQL: a server-side-binding psycopg cursor on Django's own connection. Parameters
travel apart from the SQL (nothing is escaped into it in Python), and psycopg prepares a
statement it has run a few times, so PostgreSQL stops parsing and planning the same statement
for every webhook and every node. Errors come out as Django's, as with
``connection.cursor()``. Elsewhere it is Django's cursor.

Behind a pooler in transaction mode (pgbouncer), prepared statements need pgbouncer 1.21+
with ``max_prepared_statements`` set.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django.db import connection


@contextlib.contextmanager
def fast_cursor() -> Iterator[Any]:
    if connection.vendor != "postgresql":
        with connection.cursor() as django_cursor:
            yield django_cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = psycopg.Cursor(connection.connection)
        try:
            # Under DEBUG or CaptureQueriesContext, statements show up as Django's do.
            yield _Logged(raw) if connection.queries_logged else raw
        finally:
            raw.close()


class _Logged:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = None) -> Any:
        started = time.monotonic()
        try:
            return self._cursor.execute(sql, params)
        finally:
            connection.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - started:.3f}", "params": params}
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)
