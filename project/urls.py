"""Root URL configuration."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness only: no database, no auth (load balancers and the ingest benchmark's baseline)."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("alerts/", include("apps.alerts.urls")),
    path("orchestration/", include("apps.orchestration.urls")),
]
