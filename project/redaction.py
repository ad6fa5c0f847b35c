"""Secrets in URLs kept out of logs: query parameters such as ``token=`` are redacted.

Two places write request URLs: gunicorn's access log (from the WSGI environ, after the app has
answered) and Django's ``django.server`` logger under runserver. ``without_secrets_in_logs``
wraps the WSGI application so the environ gunicorn logs from no longer holds them, whatever
access-log format or command line a deployment uses; ``RedactSecretsFilter`` (on the logging
handlers in settings.LOGGING) rewrites any log line that carries one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

MASK = "****"
SECRET_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "secret", "signature", "password"}
)
_IN_TEXT = re.compile(
    r"(?i)((?:^|(?<=[?&;\s\"']))(?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&;\s\"'#]*"
)
# Environ entries that carry the raw query string (gunicorn's %(r)s uses RAW_URI).
_URI_KEYS = ("QUERY_STRING", "RAW_URI", "REQUEST_URI")


def redact_query(query: str) -> str:
    """``query`` with the value of every secret parameter masked (names compared decoded,
    so ``to%6Ben=`` is caught as ``token=``)."""
    parts = []
    for piece in query.split("&"):
        name, sep, _ = piece.partition("=")
        if sep and unquote_plus(name).strip().lower() in SECRET_PARAMS:
            piece = f"{name}={MASK}"
        parts.append(piece)
    return "&".join(parts)


def redact_uri(uri: str) -> str:
    path, sep, query = uri.partition("?")
    return f"{path}?{redact_query(query)}" if sep else uri


def redact_text(text: str) -> str:
    return _IN_TEXT.sub(r"\1" + MASK, text)


def without_secrets_in_logs(app: Callable[..., Iterable[bytes]]) -> Callable[..., Any]:
    """The WSGI ``app``, redacting the environ's query string once it has answered.

    The request has been handled by then (the view read its query); gunicorn writes the
    access log from this same environ right after, before closing the response.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return app(environ, start_response)
        finally:
            if environ.get("QUERY_STRING"):
                environ["QUERY_STRING"] = redact_query(environ["QUERY_STRING"])
                for key in _URI_KEYS[1:]:
                    if isinstance(environ.get(key), str):
                        environ[key] = redact_uri(environ[key])

    return application


class RedactSecretsFilter(logging.Filter):
    """Masks secret query parameters in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
