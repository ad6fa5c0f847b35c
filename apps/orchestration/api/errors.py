"""Every API error is JSON ``{"error": "<what is wrong>", ...}`` with a 4xx (503 when the
database is unreachable), never an HTML page or a bare 500.

Field errors keep DRF's detail under ``fields`` and name the first problem in ``error``, so
a person reading the answer sees what to fix and a program can still find each field.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict with the current state"
    default_code = "conflict"


class DefinitionInvalid(exceptions.APIException):
    """A pipeline config that fails validation: the seed's ``errors`` list is kept."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "definition_invalid"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("Pipeline definition invalid")
        self.errors = errors


class NotFound(exceptions.NotFound):
    pass


def _first_message(detail: Any, path: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            return _first_message(value, f"{path}.{name}".strip(".") if name else path)
        return "Invalid input"
    if isinstance(detail, list):
        for i, value in enumerate(detail):
            inner = path if not isinstance(value, dict | list) else f"{path}[{i}]"
            return _first_message(value, inner)
        return "Invalid input"
    return f"{path}: {detail}" if path else str(detail)


def _answer(body: dict[str, Any], code: int, exc: Exception | None = None) -> Response:
    response = Response(body, status=code)
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DefinitionInvalid):
        set_rollback()
        return _answer({"error": str(exc.detail), "errors": exc.errors}, exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        detail = exc.detail
        body: dict[str, Any] = {"error": _first_message(detail)}
        if isinstance(detail, dict):
            body["fields"] = detail
        return _answer(body, exc.status_code)
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        response = _answer({"error": str(exc.detail)}, exc.status_code, exc)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            authenticator = context["request"].successful_authenticator
            if authenticator is None and context["request"].authenticators:
                header = (
                    context["request"].authenticators[0].authenticate_header(context["request"])
                )
                if header:
                    response["WWW-Authenticate"] = header
                    response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    # What the serializers let through and the database refused is still bad input.
    if isinstance(exc, DataError):
        set_rollback()
        return _answer({"error": f"The database refused a value: {exc}".strip()}, 400)
    if isinstance(exc, IntegrityError):
        set_rollback()
        return _answer({"error": f"Conflicts with stored data: {exc}".strip()}, 409)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("API request refused: database unavailable (%s)", exc)
        response = _answer({"error": "database unavailable; retry later"}, 503)
        response["Retry-After"] = "5"
        return response
    return None
