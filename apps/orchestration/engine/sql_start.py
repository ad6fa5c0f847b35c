"""Starting a run in one statement, and recording whether its first message went out.

The webhook's hot path: a run and its companion row (the webhook's dedup record) are one
INSERT on PostgreSQL (a data-modifying CTE), committed by itself, with JSON that is already
text (the request body as received, the definition's config serialized once) stored with a
cast instead of being parsed and dumped again in Python.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection

from apps.orchestration.engine.sql import _column, _q, cursor
from apps.orchestration.models import PipelineRun
from project.rows import PLAIN


class RawJson(str):
    """JSON text already serialized (a request body as received, a cached config): stored
    with a cast instead of being parsed and dumped again in Python."""


@dataclass(frozen=True)
class DbNow:
    """The database's clock plus ``seconds``, evaluated by the INSERT itself."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Companion:
    """A row stored with a new run, in the same statement (PostgreSQL) or transaction:
    ``values`` by field name, and the name of its foreign key to the run."""

    model: Any
    values: dict[str, Any]
    run_field: str


@functools.cache
def _fields(model: Any) -> list[tuple[Any, str, tuple[type, ...], bool, Any]]:
    """(field, quoted column, its plain value types, whether its default is computed per
    row, the prepared default otherwise) for every concrete field but the primary key:
    worked out once per model instead of for every webhook."""
    found = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        per_row = callable(f.default)
        default = None if per_row else f.get_db_prep_save(f.get_default(), connection)
        plain = PLAIN.get(f.get_internal_type(), ())
        found.append((f, _q(f.column), plain, per_row, default))
    return found


def _insert_values(model: Any, values: dict[str, Any]) -> tuple[list[str], list[str], list[Any]]:
    """Columns, placeholders and parameters for inserting ``values`` (by attname) into
    ``model``; every other concrete field but the primary key gets its default."""
    columns, marks, params = [], [], []
    for f, column, plain, per_row, default in _fields(model):
        columns.append(column)
        if f.attname not in values:
            marks.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection) if per_row else default)
            continue
        value = values[f.attname]
        if isinstance(value, DbNow):
            marks.append("statement_timestamp() + %s * interval '1 second'")
            params.append(value.seconds)
        elif isinstance(value, RawJson):
            marks.append("%s::jsonb")
            params.append(str(value))
        else:
            marks.append("%s")
            # type() is: bool is an int, and would not be one for PostgreSQL.
            fast = type(value) in plain
            params.append(value if fast else f.get_db_prep_save(value, connection))
    return columns, marks, params


def insert_run(values: dict[str, Any], companion: Companion | None = None) -> int:
    """INSERT a run (PostgreSQL), and its companion row in the same statement; returns the
    run's id. One round trip, no transaction to open or commit: a failing companion (its
    unique key is taken) takes the run with it."""
    columns, marks, params = _insert_values(PipelineRun, values)
    sql = (
        f"INSERT INTO {_q(PipelineRun._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(marks)}) RETURNING {_column(PipelineRun, 'id')}"
    )
    if companion is not None:
        model = companion.model
        run_column = _column(model, companion.run_field)
        c_columns, c_marks, c_params = _insert_values(
            model, {**companion.values, model._meta.get_field(companion.run_field).attname: 0}
        )
        c_marks = [
            "(SELECT id FROM run)" if column == run_column else mark
            for column, mark in zip(c_columns, c_marks, strict=True)
        ]
        c_params = [
            p
            for column, mark, p in zip(c_columns, c_marks, c_params, strict=True)
            if column != run_column
        ]
        sql = (
            f"WITH run AS ({sql}) INSERT INTO {_q(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(c_columns)}) VALUES ({', '.join(c_marks)}) RETURNING {run_column}"
        )
        params += c_params
    with cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def record_entry_published(run_ids: list[str], expiry_seconds: float) -> int:
    """Record that the entry steps of these runs were published (by the outbox relay), if
    nothing else moved them meanwhile. One prepared statement per relay batch on PostgreSQL:
    the relay runs it for every batch, so it must cost less than the publish it records."""
    if connection.vendor == "postgresql":
        table = _q(PipelineRun._meta.db_table)
        expires, count = (
            _column(PipelineRun, "dispatch_expires_at"),
            _column(PipelineRun, "dispatch_count"),
        )
        sql = (
            f"UPDATE {table} SET {expires} = statement_timestamp() + %s * interval '1 second', "  # noqa: S608
            f"{count} = {count} + 1 WHERE {_column(PipelineRun, 'run_id')} = ANY(%s) "
            f"AND {_column(PipelineRun, 'status')} = 'pending' AND {expires} IS NULL"
        )
        with cursor() as cur:
            cur.execute(sql, [expiry_seconds, list(run_ids)])
            return cur.rowcount
    from django.db.models import DateTimeField, ExpressionWrapper, F
    from django.db.models.functions import Now

    when = ExpressionWrapper(
        Now() + timedelta(seconds=expiry_seconds), output_field=DateTimeField()
    )
    return PipelineRun.objects.filter(
        run_id__in=run_ids, status="pending", dispatch_expires_at__isnull=True
    ).update(dispatch_expires_at=when, dispatch_count=F("dispatch_count") + 1)


def record_unpublished(run_id: str, node_id: str, attempt: int) -> int:
    """A step's publish failed: say so, so recovery publishes it when due instead of taking
    it for a message queued behind others."""
    return PipelineRun.objects.filter(
        run_id=run_id, current_node=node_id, current_attempt=attempt
    ).update(dispatch_expires_at=None)
