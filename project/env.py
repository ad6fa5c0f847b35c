"""Strict helpers for reading settings from the environment.

Every helper refuses a value it does not understand instead of guessing: a typo in
``DJANGO_DEBUG=ture`` must stop the process at start, not run production in debug mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse


class ImproperlyConfiguredEnv(ValueError):
    """An environment variable holds a value the service cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use one of 1/0, true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} is below the minimum {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} is below the minimum {minimum}")
    return value


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default).lower() or default
    if value not in choices:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_mapping(name: str) -> dict[str, str]:
    """``key=value,key=value`` into a dict; an item without ``=`` is refused."""
    result = {}
    for item in env_list(name):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not key=value")
        result[key.strip()] = value.strip()
    return result


def _threshold(value: str) -> int:
    if not value.isdigit():
        raise ImproperlyConfiguredEnv(
            f"DATABASE_URL prepare_threshold must be a whole number or off, got {value!r}"
        )
    return int(value)


def parse_database_url(url: str, base_dir: Path) -> dict:
    """Turn ``sqlite:///path`` or ``postgres://user:pass@host:port/db`` into Django's dict."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative.sqlite3 (relative to the project) and sqlite:////abs/path.sqlite3
        path = unquote(parsed.path)[1:]
        if not path or path == ":memory:":
            name = ":memory:"
        else:
            name = str(Path(path) if Path(path).is_absolute() else base_dir / path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(name)}
    if scheme in {"postgres", "postgresql", "pgsql"}:
        if not parsed.path.strip("/"):
            raise ImproperlyConfiguredEnv(f"DATABASE_URL {url!r} names no database")
        options: dict[str, Any] = dict(parse_qsl(parsed.query))
        # Prepared statements for the hot path's own statements (project/fastcursor.py; the
        # ORM's client-side cursors never prepare). Django turns them off for poolers that
        # cannot keep them: pgbouncer before 1.21, or without max_prepared_statements; say
        # prepare_threshold=off for those.
        threshold = str(options.pop("prepare_threshold", "5")).strip().lower()
        options["prepare_threshold"] = (
            None if threshold in ("off", "none") else _threshold(threshold)
        )
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", "60")),
            "OPTIONS": {"connect_timeout": int(options.pop("connect_timeout", "5")), **options},
        }
    raise ImproperlyConfiguredEnv(
        f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:/// or postgres://)"
    )
