"""The admin site with the operator's dashboard as its index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class ConsoleAdminSite(admin.AdminSite):
    site_header = "alertpipes"
    site_title = "alertpipes"
    index_title = "Dashboard"
    index_template = "admin/dashboard.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from apps.monitoring import dashboard

        response = super().index(
            request, {"dashboard": dashboard.context(), **(extra_context or {})}
        )
        assert isinstance(response, TemplateResponse)
        return response
