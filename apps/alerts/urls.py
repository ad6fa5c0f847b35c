"""Webhook URLs: one path per alert source (from ``DRIVER_REGISTRY``) and a detecting one."""

from django.urls import path

from apps.alerts.webhooks.views import alert_webhook

app_name = "alerts"

urlpatterns = [
    path("webhook/", alert_webhook, name="webhook"),
    path("webhook/<str:source>/", alert_webhook, name="webhook-source"),
]
