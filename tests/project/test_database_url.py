"""DATABASE_URL into Django's settings (project/env.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from project.env import ImproperlyConfiguredEnv, parse_database_url

BASE = Path("/srv/app")


def test_postgres_urls_prepare_the_hot_path_statements_by_default() -> None:
    db = parse_database_url("postgres://u:p%40ss@db.invalid:6432/alerts", BASE)

    assert db["OPTIONS"]["prepare_threshold"] == 5
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "alerts",
        "u",
        "p@ss",
        "db.invalid",
        "6432",
    )


@pytest.mark.parametrize("value", ["off", "OFF", "none"])
def test_prepared_statements_can_be_turned_off_for_old_poolers(value: str) -> None:
    db = parse_database_url(f"postgres://u@db.invalid/alerts?prepare_threshold={value}", BASE)

    assert db["OPTIONS"]["prepare_threshold"] is None


def test_a_prepare_threshold_is_passed_on_with_the_other_driver_options() -> None:
    db = parse_database_url(
        "postgres://u@db.invalid/alerts?prepare_threshold=2&sslmode=require&conn_max_age=0", BASE
    )

    assert db["OPTIONS"] == {"connect_timeout": 5, "prepare_threshold": 2, "sslmode": "require"}
    assert db["CONN_MAX_AGE"] == 0


def test_a_prepare_threshold_that_is_not_a_number_is_a_clear_error() -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="prepare_threshold must be a whole number"):
        parse_database_url("postgres://u@db.invalid/alerts?prepare_threshold=soon", BASE)


def test_sqlite_urls_have_no_driver_options() -> None:
    db = parse_database_url("sqlite:///db.sqlite3", BASE)

    assert db == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE / "db.sqlite3")}
