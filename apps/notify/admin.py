"""Admin for channels (secrets masked, never echoed back, never corrupted) and the read-only
delivery ledger."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.notify.dispatch import send_test_message
from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.models import Delivery, NotificationChannel
from apps.orchestration.secrets import channel_leftover_masks


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class NotificationChannelForm(forms.ModelForm):
    """Shows the config masked. A masked value sent back unchanged keeps the stored secret; a
    value edited around its mask (only the host of a masked URL) is refused, so ``****`` is
    never stored as a secret."""

    config = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 90, "class": "vLargeTextField"}),
        help_text="Driver settings as JSON. Secrets are shown as ****: leave them so to keep "
        "them, or replace the whole value (a URL edited around **** is refused).",
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "driver", "config", "is_active", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["config"] = self.instance.masked_config()

    def clean_config(self) -> Any:
        submitted = self.cleaned_data.get("config")
        driver = self.cleaned_data.get("driver") or self.data.get("driver") or ""
        if self.instance.pk and isinstance(submitted, dict) and driver in DRIVER_REGISTRY:
            stored = NotificationChannel.objects.get(pk=self.instance.pk)
            if driver == stored.driver:
                submitted = get_driver(driver).restore_secrets(submitted, stored.config)
        leftovers = channel_leftover_masks(submitted)
        if leftovers:
            raise forms.ValidationError(
                [f"{m}. Re-enter the whole value (for a URL: the whole URL)." for m in leftovers]
            )
        return submitted


def send_test(channel: NotificationChannel) -> tuple[bool, str]:
    """The admin's test action: (sent, what the driver said)."""
    try:
        result = send_test_message(channel.driver, channel.config, source="admin")
    except NotifyConfigError as exc:
        return False, "invalid config: " + "; ".join(exc.errors)
    except NotifyError as exc:
        return False, f"{exc} ({'retryable' if exc.retryable else 'permanent'})"
    return True, json.dumps(result.summary or {})


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    change_form_template = "admin/notify/notificationchannel/change_form.html"
    list_display = ["name", "driver", "is_active", "last_delivery", "updated_at"]
    list_filter = ["driver", "is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["send_test_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        last = Delivery.objects.filter(channel=OuterRef("name")).order_by("-updated_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status=Subquery(last.values("status")[:1]),
                last_at=Subquery(last.values("updated_at")[:1]),
            )
        )

    @admin.display(description="Last delivery", ordering="last_at")
    def last_delivery(self, obj: NotificationChannel) -> str:
        status = getattr(obj, "last_status", None)
        if not status:
            return "–"
        when = obj.last_at.strftime("%Y-%m-%d %H:%M") if obj.last_at else ""
        return format_html('<span class="status-{}">{}</span> {}', status, status, when)

    @admin.action(description="Send a test message", permissions=["change"])
    def send_test_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for channel in queryset:
            self._report(request, channel, *send_test(channel))

    def _report(self, request: HttpRequest, channel: Any, sent: bool, detail: str) -> None:
        if sent:
            self.message_user(request, f"Test sent to {channel.name}: {detail}")
        else:
            self.message_user(request, f"Test to {channel.name} failed: {detail}", messages.ERROR)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        channel = self.get_object(request, object_id)
        if channel is not None:
            context["recent_deliveries"] = Delivery.objects.filter(channel=channel.name).order_by(
                "-updated_at"
            )[:10]
            context["test_url"] = reverse(
                "admin:notify_notificationchannel_test", args=[channel.pk]
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.test_view)
        own = [path("<int:pk>/test/", view, name="notify_notificationchannel_test")]
        return own + super().get_urls()

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        channel = get_object_or_404(NotificationChannel, pk=pk)
        if not self.has_change_permission(request, channel):
            raise PermissionDenied
        self._report(request, channel, *send_test(channel))
        return HttpResponseRedirect(reverse("admin:notify_notificationchannel_change", args=[pk]))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["channel", "driver", "status", "attempts", "run_id", "node_id", "updated_at"]
    list_filter = ["status", "driver"]
    search_fields = ["run_id", "channel"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The ledger is written by the notify node only; hand-made rows would suppress sends.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
