"""Single-row statements for hot paths, written out once per shape instead of per call.

The ORM compiles every query anew: for the handful of statements each alert's ingest makes,
compiling cost more CPU than PostgreSQL spent answering (bench/e2e.py, bench/engine.py).
These helpers build the SQL of one shape (model, columns, flags) once, send values through
the fields' own adapters (plain values of plain fields as they are), go through
``fast_cursor`` (prepared after a few runs on PostgreSQL) and give back model instances, so
callers see what the ORM would give them. Works on PostgreSQL and SQLite (3.35+ for
``RETURNING``; Python 3.11 ships newer).

Statements are assembled only from model metadata (names quoted by the backend), callers'
fixed SQL fragments and placeholders; no value is ever formatted into SQL (hence the S608
waivers).
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from django.db import connection
from django.utils import timezone

from project.fastcursor import fast_cursor

M = TypeVar("M")

# Value types that a field's preparation returns unchanged, by the field's internal type:
# psycopg and sqlite3 adapt those as they are (any other value goes through get_db_prep_save).
_TEXT = (str, type(None))
_INT = (int, type(None))
PLAIN: dict[str, tuple[type, ...]] = {
    "CharField": _TEXT,
    "TextField": _TEXT,
    "SlugField": _TEXT,
    "IntegerField": _INT,
    "BigIntegerField": _INT,
    "PositiveIntegerField": _INT,
    "PositiveSmallIntegerField": _INT,
    "SmallIntegerField": _INT,
    "ForeignKey": _INT,
    "OneToOneField": _INT,
    "AutoField": _INT,
    "BigAutoField": _INT,
    "BooleanField": (bool, type(None)),
    "FloatField": (float, type(None)),
}


@functools.cache
def q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def column(model: Any, name: str) -> str:
    """The quoted column of ``model``'s field ``name`` (a field name or attname)."""
    return q(model._meta.get_field(name).column)


@functools.cache
def _field(model: Any, name: str) -> tuple[Any, tuple[type, ...]]:
    f = model._meta.get_field(name)
    return f, PLAIN.get(f.get_internal_type(), ())


def param(model: Any, name: str, value: Any) -> Any:
    """``value`` as the database takes it for ``model``'s field ``name``."""
    f, plain = _field(model, name)
    # type() is: bool is an int, and would not be one for PostgreSQL.
    return value if type(value) in plain else f.get_db_prep_save(value, connection)


@functools.cache
def _auto_times(model: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(auto_now_add or auto_now fields, auto_now fields) by attname: what save() stamps."""
    on_insert, on_update = [], []
    for f in model._meta.concrete_fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            on_insert.append(f.attname)
        if getattr(f, "auto_now", False):
            on_update.append(f.attname)
    return tuple(on_insert), tuple(on_update)


@functools.cache
def _defaults(model: Any) -> tuple[tuple[str, Any, bool], ...]:
    """(attname, default, computed per row) of every concrete field but the primary key."""
    found = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        per_row = callable(f.default)
        found.append((f.attname, None if per_row else f.get_default(), per_row))
    return tuple(found)


@functools.cache
def _insert_sql(model: Any, names: tuple[str, ...], conflict: str, vendor: str) -> str:
    table = q(model._meta.db_table)
    columns = ", ".join(column(model, n) for n in names)
    marks = ", ".join(["%s"] * len(names))
    on_conflict = f" ON CONFLICT {conflict} DO NOTHING" if conflict else ""
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}){on_conflict} "  # noqa: S608
        f"RETURNING {column(model, model._meta.pk.name)}"
    )


def insert(model: Any, values: dict[str, Any], *, conflict: str = "") -> int | None:
    """INSERT one row of ``model`` (``values`` by attname; other fields get their defaults,
    auto_now fields the time) and return its id. With ``conflict`` (an ON CONFLICT target,
    e.g. ``(source, fingerprint)``) a row that would break that unique index is not
    inserted and None is returned; no error, so no savepoint is needed around it."""
    return _insert_row(model, _full_row(model, values), conflict)


def _insert_row(model: Any, row: dict[str, Any], conflict: str) -> int | None:
    names = tuple(row)
    params = [param(model, n, row[n]) for n in names]
    with fast_cursor() as cur:
        cur.execute(_insert_sql(model, names, conflict, connection.vendor), params)
        found = cur.fetchone()
    return found[0] if found else None


def create(model: type[M], values: dict[str, Any]) -> M:
    """``insert``, returning the stored instance."""
    found = create_unless(model, values, conflict="")
    if found is None:  # no conflict target: the row is inserted, or an error raised
        raise RuntimeError(f"INSERT into {model.__name__} returned no row")
    return found


def create_unless(model: type[M], values: dict[str, Any], *, conflict: str) -> M | None:
    """``insert`` with an ON CONFLICT target, returning the stored instance, or None when
    the row would have broken that unique index (no error, no savepoint needed)."""
    row = _full_row(model, values)
    pk = _insert_row(model, row, conflict)
    if pk is None:
        return None
    obj = model(**row)
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def _full_row(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    now = None
    row: dict[str, Any] = {}
    for name, default, per_row in _defaults(model):
        row[name] = model._meta.get_field(name).get_default() if per_row else default
    for name in _auto_times(model)[0]:
        now = now or timezone.now()
        row[name] = now
    row.update(values)
    return row


@functools.cache
def _field_converters(model: Any, name: str) -> tuple[Any, list[Any]]:
    col = model._meta.get_field(name).get_col(model._meta.db_table)
    return col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)


def convert(model: Any, name: str, value: Any) -> Any:
    """A value of ``model``'s field ``name`` as read from the database, as the ORM gives it
    (JSON decoded, SQLite datetimes parsed)."""
    col, converters = _field_converters(model, name)
    for c in converters:
        value = c(value, col, connection)
    return value


def from_row(model: type[M], values: tuple[Any, ...]) -> M:
    """A model instance from a row of all its concrete columns, in field order."""
    fields = model._meta.concrete_fields
    converted = [convert(model, f.name, v) for f, v in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, None, converted)


@functools.cache
def _select_sql(model: Any, names: tuple[str, ...], also: str, lock: bool, vendor: str) -> str:
    columns = ", ".join(q(f.column) for f in model._meta.concrete_fields)
    where = " AND ".join([*(f"{column(model, n)} = %s" for n in names), *([also] if also else [])])
    # SQLite has no row locks: a writing transaction holds the whole database instead.
    suffix = " FOR UPDATE" if lock and vendor == "postgresql" else ""
    return f"SELECT {columns} FROM {q(model._meta.db_table)} WHERE {where}{suffix}"  # noqa: S608


def get(model: type[M], *, lock: bool = False, also: str = "", **where: Any) -> M | None:
    """The row of ``model`` matching every ``where`` equality (a unique key) and the fixed
    SQL condition ``also``, locked FOR UPDATE with ``lock``, or None."""
    names = tuple(where)
    params = [param(model, n, where[n]) for n in names]
    with fast_cursor() as cur:
        cur.execute(_select_sql(model, names, also, lock, connection.vendor), params)
        found = cur.fetchone()
    return from_row(model, found) if found else None


class _Columns(dict):
    """``{field}`` in a SQL fragment becomes that field's quoted column."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def __missing__(self, name: str) -> str:
        return column(self.model, name)


@functools.cache
def _values_sql(
    model: Any, names: tuple[str, ...], where: str, order: str, limited: bool, vendor: str
) -> str:
    columns = _Columns(model)
    sql = (
        f"SELECT {', '.join(column(model, n) for n in names)} "  # noqa: S608
        f"FROM {q(model._meta.db_table)} WHERE {where.format_map(columns)}"
    )
    if order:
        sql += f" ORDER BY {order.format_map(columns)}"
    return sql + (" LIMIT %s" if limited else "")


def values(
    model: Any,
    names: tuple[str, ...],
    where: str,
    params: list[Any],
    *,
    order: str = "",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The ``names`` fields of the rows matching ``where``, as the ORM's ``values()`` gives
    them. ``where`` and ``order`` are fixed SQL with ``{field}`` for a field's column and
    ``%s`` for each of ``params``; e.g. ``where="{starts_at} <= %s"``, ``order="{id} DESC"``."""
    sql = _values_sql(model, names, where, order, limit is not None, connection.vendor)
    with fast_cursor() as cur:
        cur.execute(sql, [*params, *([limit] if limit is not None else [])])
        found = cur.fetchall()
    return [{n: convert(model, n, v) for n, v in zip(names, row, strict=True)} for row in found]


@functools.cache
def _update_sql(model: Any, names: tuple[str, ...], where: tuple[str, ...]) -> str:
    sets = ", ".join(f"{column(model, n)} = %s" for n in names)
    conditions = " AND ".join(f"{column(model, n)} = %s" for n in (model._meta.pk.name, *where))
    return f"UPDATE {q(model._meta.db_table)} SET {sets} WHERE {conditions}"  # noqa: S608


def update(model: Any, pk: Any, values: dict[str, Any], **where: Any) -> int:
    """UPDATE ``values`` (by attname; auto_now fields stamped too) of the row ``pk`` if it
    also matches every ``where`` equality; returns how many rows changed (0 or 1)."""
    row = dict(values)
    for name in _auto_times(model)[1]:
        row.setdefault(name, timezone.now())
    names, conditions = tuple(row), tuple(where)
    params = [param(model, n, row[n]) for n in names]
    params += [pk, *(param(model, n, where[n]) for n in conditions)]
    with fast_cursor() as cur:
        cur.execute(_update_sql(model, names, conditions), params)
        return cur.rowcount


def save(instance: Any, names: tuple[str, ...] | list[str]) -> int:
    """UPDATE the named fields (attnames) of ``instance`` from its attributes."""
    model = type(instance)
    values = {n: getattr(instance, n) for n in names}
    for name in _auto_times(model)[1]:
        setattr(instance, name, values.setdefault(name, timezone.now()))
    return update(model, instance.pk, values)
