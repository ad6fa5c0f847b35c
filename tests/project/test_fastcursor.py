"""The hot path's cursor (project/fastcursor.py): its statements are prepared on PostgreSQL,
parsed once per connection instead of for every webhook and node."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.notify.models import NotificationChannel
from project import rows
from project.fastcursor import fast_cursor

pytestmark = pytest.mark.django_db


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def _prepared(fragment: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of this connection's prepared statements containing
    ``fragment``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE strpos(statement, %s) > 0",
            [fragment],
        )
        return cursor.fetchall()


def test_a_statement_is_prepared_on_its_first_run_and_reused_after() -> None:
    _postgres_only()
    for n in range(8):
        with fast_cursor() as cursor:
            cursor.execute("SELECT %s::int + 7 AS fastcursor_probe", [n])
            assert cursor.fetchone()[0] == n + 7

    (plans,) = _prepared("fastcursor_probe")
    assert sum(plans) == 8  # one statement, planned from its preparation for all eight runs


def test_the_rows_statements_are_prepared_and_the_orms_are_not() -> None:
    _postgres_only()
    NotificationChannel.objects.create(
        name="a", driver="generic", config={"endpoint_url": "http://127.0.0.1:9/hook"}
    )
    for _ in range(3):
        found = rows.values(NotificationChannel, ("name",), "{is_active} = %s", [True])
        assert found == [{"name": "a"}]
        assert NotificationChannel.objects.filter(name="a").count() == 1

    assert len(_prepared('FROM "notify_notificationchannel" WHERE "is_active"')) == 1
    assert _prepared("COUNT(*)") == []  # Django's cursors bind on the client, unprepared
