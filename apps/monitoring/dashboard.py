"""What the dashboard (the admin index) shows, each figure with the page that fixes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.monitoring import broker, figures


def runs_url(**filters: str) -> str:
    query = urlencode(filters)
    return reverse("admin:orchestration_pipelinerun_changelist") + (f"?{query}" if query else "")


def context() -> dict[str, Any]:
    runs = figures.run_figures()
    # With its offset: the admin would take a naive time as local (and warn).
    since = runs.since.isoformat(sep=" ", timespec="seconds")
    status_links = [
        (status, count, runs_url(status__exact=status, created_at__gte=since))
        for status, count in runs.by_status.items()
    ]
    definitions = [
        {
            "name": d.name,
            "total": d.total,
            "completed": d.by_status.get("completed", 0),
            "failed": d.by_status.get("failed", 0),
            "open": d.by_status.get("pending", 0) + d.by_status.get("running", 0),
            "url": runs_url(definition_name=d.name, created_at__gte=since),
            "failed_url": runs_url(
                definition_name=d.name, status__exact="failed", created_at__gte=since
            ),
        }
        for d in runs.by_definition
    ]
    incidents_url = reverse("admin:alerts_incident_changelist")
    depths = broker.queue_depths()
    return {
        "now": timezone.now(),
        "runs": runs,
        "since": since,
        "status_links": status_links,
        "definitions": definitions,
        "failure_rate_pct": None
        if runs.failure_rate is None
        else round(runs.failure_rate * 100, 1),
        "failed_url": runs_url(status__exact="failed", created_at__gte=since),
        "runs_url": runs_url(),
        "incidents": [
            (severity, count, f"{incidents_url}?severity__exact={severity}&active=1")
            for severity, count in figures.open_incidents().items()
        ],
        "incidents_url": f"{incidents_url}?active=1",
        "broker": bool(settings.CELERY_BROKER_URL),
        "queues": list(depths.items()),
        "queue_total": sum(v for v in depths.values() if v),
        "workers": broker.workers_answering(),
        "beat": broker.beat_status(),
        "flower_url": settings.FLOWER_URL,
        "channels": figures.channel_health(),
        "channels_url": reverse("admin:notify_notificationchannel_changelist"),
        "deliveries_url": reverse("admin:notify_delivery_changelist"),
        "providers": figures.ai_providers(),
        "definitions_url": reverse("admin:orchestration_pipelinedefinition_changelist"),
        "noise": noise_links(),
    }


def noise_links() -> list[tuple[str, str]]:
    """Links to the noise app's pages (silences, decisions) when it is installed."""
    from django.apps import apps
    from django.contrib import admin

    if not apps.is_installed("apps.noise"):
        return []
    links = []
    for model in apps.get_app_config("noise").get_models():
        if admin.site.is_registered(model):
            meta = model._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            links.append((str(meta.verbose_name_plural).capitalize(), url))
    return links
