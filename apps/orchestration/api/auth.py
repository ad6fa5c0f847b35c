"""API-key authentication for the REST API.

Keys come from ``API_KEYS``; a request sends one as ``Authorization: Api-Key <key>`` or
``X-API-Key: <key>``. Logged-in staff (the admin's session) are let through too. With
``API_AUTH_REQUIRED=1`` (the default) and no keys configured, every API call is refused.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def presented_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in {"api-key", "apikey"}:
        return value.strip()
    return request.headers.get("X-API-Key", "").strip()


def key_is_valid(key: str) -> bool:
    # compare_digest against every key so timing does not reveal which prefix matched.
    matches = [hmac.compare_digest(key.encode(), k.encode()) for k in settings.API_KEYS]
    return bool(key) and any(matches)


def api_auth(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.API_AUTH_REQUIRED and not (
            key_is_valid(presented_key(request))
            or (request.user.is_authenticated and request.user.is_staff)
        ):
            response = JsonResponse(
                {"error": "Authentication required: send 'Authorization: Api-Key <key>'"},
                status=401,
            )
            response["WWW-Authenticate"] = 'Api-Key realm="alertpipes"'
            return response
        return view(request, *args, **kwargs)

    return wrapper
