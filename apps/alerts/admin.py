"""Admin: incidents with their alerts, history and runs, and the operator's acknowledge /
resolve / close (the same services as the API); alerts read-mostly (sources own them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.alerts.drivers import Severity
from apps.alerts.incidents import (
    IncidentStateError,
    acknowledge_incident,
    close_incident,
    resolve_incident,
)
from apps.alerts.models import Alert, AlertHistory, Incident
from apps.orchestration.models import PipelineRun

# Verb shown to the operator -> the service the API calls too.
ACTIONS: dict[str, tuple[str, Callable[[int], Incident | None]]] = {
    "acknowledge": ("acknowledged", acknowledge_incident),
    "resolve": ("resolved", resolve_incident),
    "close": ("closed", close_incident),
}


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AlertInline(ReadOnlyInline):
    model = Alert
    fields = ("name", "fingerprint", "status", "severity", "started_at", "ended_at")
    readonly_fields = fields


class IncidentHistoryInline(ReadOnlyInline):
    model = AlertHistory
    fk_name = "incident"
    verbose_name_plural = "history (alert state changes)"
    fields = ("created_at", "alert", "event", "old_status", "new_status", "new_severity")
    readonly_fields = fields
    show_change_link = False


class RunInline(ReadOnlyInline):
    model = PipelineRun
    fk_name = "incident"
    verbose_name_plural = "pipeline runs"
    fields = ("run_id", "definition_name", "definition_version", "status", "created_at")
    readonly_fields = fields
    ordering = ["-created_at"]


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", "Active (open or acknowledged)"), ("0", "Resolved or closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "1":
            return queryset.filter(status__in=Incident.ACTIVE_STATUSES)
        if self.value() == "0":
            return queryset.exclude(status__in=Incident.ACTIVE_STATUSES)
        return queryset


SEVERITY_RANK = Case(
    *[When(severity=s.value, then=Value(s.rank)) for s in Severity],
    default=Value(0),
    output_field=IntegerField(),
)
ACTIVE_FIRST = Case(
    When(status__in=Incident.ACTIVE_STATUSES, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    change_form_template = "admin/alerts/incident/change_form.html"
    list_display = (
        "id", "title", "status_badge", "severity_badge", "source", "alert_count",
        "created_at", "acknowledged_at", "resolved_at",
    )  # fmt: skip
    list_display_links = ("id", "title")
    list_filter = (ActiveFilter, "status", "severity", "source")
    search_fields = ("title", "description", "group_key")
    fields = ("title", "description", "status", "severity", "source", "group_key")
    readonly_fields = (
        "status", "severity", "source", "group_key", "created_at", "updated_at",
        "acknowledged_at", "resolved_at", "closed_at",
    )  # fmt: skip
    inlines = [AlertInline, IncidentHistoryInline, RunInline]
    actions = ["acknowledge_selected", "resolve_selected", "close_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(alerts_n=Count("alerts"), severity_rank=SEVERITY_RANK)
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # What needs an operator first: active incidents, most severe, newest.
        return [ACTIVE_FIRST.desc(), SEVERITY_RANK.desc(), "-created_at"]

    @admin.display(description="Alerts", ordering="alerts_n")
    def alert_count(self, obj: Incident) -> int:
        return getattr(obj, "alerts_n", 0)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Incident) -> str:
        css = {"open": "bad-text", "acknowledged": "status-running"}.get(obj.status, "ok")
        return format_html('<span class="{}">{}</span>', css, obj.status)

    @admin.display(description="Severity", ordering="severity_rank")
    def severity_badge(self, obj: Incident) -> str:
        css = "bad-text" if obj.severity in ("critical", "error") else ""
        return format_html('<span class="{}">{}</span>', css, obj.severity)

    def _apply(self, request: HttpRequest, queryset: QuerySet, verb: str) -> None:
        done, service = ACTIONS[verb]
        changed = 0
        for incident in queryset:
            try:
                service(incident.pk)
                changed += 1
            except IncidentStateError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if changed:
            self.message_user(request, f"{changed} incident(s) {done}.")

    @admin.action(description="Acknowledge selected incidents", permissions=["change"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, "acknowledge")

    @admin.action(description="Resolve selected incidents", permissions=["change"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, "resolve")

    @admin.action(description="Close selected incidents", permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, "close")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        incident = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if incident is not None:
            context["incident_actions"] = [
                (verb, reverse(f"admin:alerts_incident_{verb}", args=[incident.pk]))
                for verb in _allowed(incident)
            ]
            context["noise_links"] = _noise_links(incident)
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                f"<int:pk>/{verb}/",
                self.admin_site.admin_view(self._transition_view(verb)),
                name=f"alerts_incident_{verb}",
            )
            for verb in ACTIONS
        ]
        return own + super().get_urls()

    def _transition_view(self, verb: str) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, pk: int) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            incident = get_object_or_404(Incident, pk=pk)
            if not self.has_change_permission(request, incident):
                raise PermissionDenied
            done, service = ACTIONS[verb]
            try:
                service(incident.pk)
            except IncidentStateError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"Incident #{incident.pk} {done}.")
            return HttpResponseRedirect(reverse("admin:alerts_incident_change", args=[pk]))

        return view


def _noise_links(incident: Incident) -> list[tuple[str, str]]:
    """Why this incident did (not) notify: its noise decisions, and the silences."""
    from django.apps import apps

    if not apps.is_installed("apps.noise"):
        return []
    return [
        (
            "Noise decisions for this incident",
            reverse("admin:noise_noisedecision_changelist") + f"?incident__exact={incident.pk}",
        ),
        ("Silences", reverse("admin:noise_silence_changelist")),
    ]


def _allowed(incident: Incident) -> list[str]:
    if incident.status == Incident.Status.OPEN:
        return ["acknowledge", "resolve", "close"]
    if incident.status == Incident.Status.ACKNOWLEDGED:
        return ["resolve", "close"]
    if incident.status == Incident.Status.RESOLVED:
        return ["close"]
    return []


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
