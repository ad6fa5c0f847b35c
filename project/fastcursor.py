"""A cursor for the few statements every request or node runs.

On PostgreSQL: a server-side-binding psycopg cursor on Django's own connection. Parameters
travel apart from the SQL (nothing is escaped into it in Python), and every statement is
prepared on its first run: PostgreSQL parses it once per connection and, after five runs,
keeps a generic plan when that costs no more, instead of parsing and planning it for every
webhook and node (half of PostgreSQL's CPU per alert went there). Errors come out as
Django's, as with ``connection.cursor()``. Elsewhere it is Django's cursor.

Preparing needs the connection's ``prepare_threshold`` set (project/env.py sets it; Django
leaves it off, and so do the ORM's own client-side cursors whatever it is). Behind a pooler
in transaction mode, prepared statements need pgbouncer 1.21+ with ``max_prepared_statements``
set; otherwise add ``prepare_threshold=off`` to ``DATABASE_URL``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections


@contextlib.contextmanager
def fast_cursor() -> Iterator[Any]:
    # The wrapper itself, looked up once: every attribute of the ``connection`` proxy is a
    # look-up in a context-local store, and a node's statements made dozens of them.
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as django_cursor:
            yield django_cursor
        return
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = _PreparingCursor(db.connection)
        try:
            # Under DEBUG or CaptureQueriesContext, statements show up as Django's do.
            yield _Logged(raw, db) if db.queries_logged else raw
        finally:
            raw.close()


class _PreparingCursor(psycopg.Cursor):
    """Prepares each statement on its first run rather than its fifth: every one of them is
    run again and again. psycopg keeps the last 100 per connection, and prepares nothing when
    the connection's ``prepare_threshold`` is None (``prepare_threshold=off``)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
    ) -> Any:
        return super().execute(
            query, params, prepare=True if prepare is None else prepare, **kwargs
        )


class _Logged:
    def __init__(self, cursor: Any, db: Any) -> None:
        self._cursor = cursor
        self._db = db

    def execute(self, sql: str, params: Any = None) -> Any:
        started = time.monotonic()
        try:
            return self._cursor.execute(sql, params)
        finally:
            self._db.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - started:.3f}", "params": params}
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)
