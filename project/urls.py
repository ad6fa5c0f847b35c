"""Root URL configuration."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from apps.orchestration.api.urls import docs_patterns, incident_patterns, notify_patterns


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness only: no database, no auth (load balancers and the ingest benchmark's baseline)."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("alerts/", include((incident_patterns, "incidents"))),
    path("alerts/", include("apps.alerts.urls")),
    path("notify/", include((notify_patterns, "notify"))),
    path("orchestration/", include("apps.orchestration.urls")),
    path("api/", include((docs_patterns, "api"))),
]
