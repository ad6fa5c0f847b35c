from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.checkers.models import CheckRun


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
    """Read-only: results are measurements, editing one would falsify history."""

    list_display = ("created_at", "checker_name", "status", "hostname", "message", "run_id")
    list_filter = ("status", "checker_name", "hostname")
    search_fields = ("message", "trace_id", "run_id", "hostname")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in CheckRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CheckRun | None = None) -> bool:
        return False
