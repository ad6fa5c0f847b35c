"""Admin: incidents with their alerts inline; alerts and history read-mostly (sources own them)."""

from __future__ import annotations

from django.contrib import admin

from apps.alerts.models import Alert, AlertHistory, Incident


class AlertInline(admin.TabularInline):
    model = Alert
    fields = ("name", "fingerprint", "status", "severity", "started_at", "ended_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "status", "severity", "source", "created_at", "resolved_at")
    list_filter = ("status", "severity", "source")
    search_fields = ("title", "description", "group_key")
    readonly_fields = ("source", "group_key", "created_at", "updated_at")
    inlines = [AlertInline]


class AlertHistoryInline(admin.TabularInline):
    model = AlertHistory
    fields = ("created_at", "event", "old_status", "new_status", "old_severity", "new_severity")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "status", "severity", "incident", "received_at")
    list_filter = ("source", "status", "severity")
    search_fields = ("name", "fingerprint", "description")
    readonly_fields = ("source", "fingerprint", "raw_payload", "received_at", "updated_at")
    inlines = [AlertHistoryInline]
