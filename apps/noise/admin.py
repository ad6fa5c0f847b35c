"""Admin: silences (matchers typed one per line, validated like the CLI and the API, expire
now), and the decision log, read-only ("why was I not notified?")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.noise import clock, silences
from apps.noise.matchers import MatcherError, from_json, parse_all
from apps.noise.models import NoiseDecision, Silence


class SilenceForm(forms.ModelForm):
    matchers = forms.CharField(
        label="Matchers",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One per line: name=value, name!=value, name=~regex, name!~regex. Names: "
        "source, severity, host, alertname, or any label. Every line must match.",
    )

    class Meta:
        model = Silence
        fields = ("matchers", "starts_at", "ends_at", "created_by", "comment")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            try:
                lines = [str(m) for m in from_json(self.instance.matchers)]
            except MatcherError:
                lines = []
            self.initial["matchers"] = "\n".join(lines)
        else:
            self.fields["starts_at"].initial = clock.now()

    def clean_matchers(self) -> list[dict[str, str]]:
        try:
            parsed = parse_all(self.cleaned_data["matchers"].splitlines())
        except MatcherError as exc:
            raise forms.ValidationError(str(exc)) from None
        return [m.to_dict() for m in parsed]


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("pending", "pending"), ("expired", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Silence]) -> QuerySet[Silence]:
        now = clock.now()
        if self.value() == "active":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if self.value() == "pending":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = ("id", "matchers_display", "state", "starts_at", "ends_at", "created_by")
    list_display_links = ("id", "matchers_display")
    list_filter = (StateFilter, "created_by")
    search_fields = ("comment", "created_by")
    actions = ["expire_now"]

    @admin.display(description="matchers")
    def matchers_display(self, obj: Silence) -> str:
        return obj.describe()

    @admin.display(description="state")
    def state(self, obj: Silence) -> str:
        return obj.state(clock.now())

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {
            **super().get_changeform_initial_data(request),
            "created_by": request.user.get_username(),
        }

    def save_model(self, request: HttpRequest, obj: Silence, form: Any, change: bool) -> None:
        silences.save(obj)  # the same rules as the CLI and the API

    @admin.action(description="Expire the selected silences now")
    def expire_now(self, request: HttpRequest, queryset: QuerySet[Silence]) -> None:
        ended = sum(silences.expire(s) for s in queryset)
        self.message_user(request, f"{ended} silence(s) expired.", messages.SUCCESS)


@admin.register(NoiseDecision)
class NoiseDecisionAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "notify", "stage", "incident", "repeats", "run_id", "reason")
    list_filter = ("kind", "stage", "notify")
    search_fields = ("run_id", "fingerprint", "reason", "=incident__id")
    date_hierarchy = "at"
    list_select_related = ("incident",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


__all__ = ["NoiseDecisionAdmin", "SilenceAdmin"]
