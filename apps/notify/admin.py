"""Admin for channels (secrets masked, never echoed back) and the read-only delivery ledger."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.models import Delivery, NotificationChannel


class NotificationChannelForm(forms.ModelForm):
    """Shows the config masked; a value submitted unchanged as its mask keeps the stored
    secret, so editing a channel never requires re-typing (or revealing) its secrets."""

    class Meta:
        model = NotificationChannel
        fields = ["name", "driver", "config", "is_active", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["config"] = self.instance.masked_config()
        self.fields[
            "config"
        ].help_text = "Driver settings as JSON. Secrets are shown as **** and kept when left so."

    def clean_config(self) -> Any:
        submitted = self.cleaned_data.get("config")
        driver = self.cleaned_data.get("driver") or self.instance.driver
        if (
            self.instance.pk
            and isinstance(submitted, dict)
            and driver in DRIVER_REGISTRY
            and driver == self.instance.driver
        ):
            stored = NotificationChannel.objects.get(pk=self.instance.pk).config
            return get_driver(driver).restore_secrets(submitted, stored)
        return submitted


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    list_display = ["name", "driver", "is_active", "updated_at"]
    list_filter = ["driver", "is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["masked_config_display", "created_at", "updated_at"]

    @admin.display(description="Config (masked)")
    def masked_config_display(self, obj: NotificationChannel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.masked_config(), indent=2))


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
