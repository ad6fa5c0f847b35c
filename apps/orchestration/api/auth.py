"""API authentication and scopes.

A request sends a key as ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``: a stored
key (``manage.py create_api_key``, hashed in the database) or one of the bootstrap
``API_KEYS`` (admin scope). The admin's own calls authenticate by session (CSRF enforced):
superusers have the admin scope, other staff write. Reads need ``read``, changes ``write``;
a view may ask for another scope with ``required_scope``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from apps.orchestration.apikeys import Principal, authenticate_key, scope_allows

AUTH_HINT = "Authentication required: send 'Authorization: Api-Key <key>'"


def presented_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in {"api-key", "apikey"}:
        return value.strip()
    return request.headers.get("X-API-Key", "").strip()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        key = presented_key(request._request)
        if not key:
            return None
        if "\x00" in key:
            raise exceptions.AuthenticationFailed("Invalid API key")
        principal = authenticate_key(key, list(settings.API_KEYS))
        if principal is None:
            raise exceptions.AuthenticationFailed("Invalid API key")
        return principal, principal.scope

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials were sent.
        return 'Api-Key realm="alertpipes"'


def request_scope(request: Request) -> str | None:
    """The scope the request holds, or None when it is not authenticated."""
    if isinstance(request.user, Principal):
        return request.user.scope
    user = request.user
    if user is not None and user.is_authenticated and user.is_active:
        if user.is_superuser:
            return "admin"
        if user.is_staff:
            return "write"
    return None


def needed_scope(request: Request, view: Any) -> str:
    declared = getattr(view, "required_scope", None)
    if isinstance(declared, dict):
        declared = declared.get(request.method)
    if declared:
        return declared
    return "read" if request.method in permissions.SAFE_METHODS else "write"


class HasScope(permissions.BasePermission):
    """Reads need ``read``, changes ``write``; ``API_AUTH_REQUIRED=0`` lets everyone in."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not settings.API_AUTH_REQUIRED:
            return True
        held = request_scope(request)
        if held is None:
            if request.user is not None and request.user.is_authenticated:
                raise exceptions.PermissionDenied("Only staff may use the API by session")
            raise exceptions.NotAuthenticated(AUTH_HINT)
        needed = needed_scope(request, view)
        if not scope_allows(held, needed):
            raise exceptions.PermissionDenied(
                f"This needs an API key with the {needed!r} scope; this one has {held!r}"
            )
        return True


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes the API key."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (or the key alone in `X-API-Key`)",
        }
