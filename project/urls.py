"""Root URL configuration."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults

from apps.monitoring.views import metrics_view
from apps.noise.urls import alert_patterns as noise_alert_patterns
from apps.orchestration.api.urls import docs_patterns, incident_patterns, notify_patterns


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness only: no database, no auth (load balancers and the ingest benchmark's baseline)."""
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """JSON for API clients (no route matched, e.g. an empty name); the admin keeps its page."""
    if request.path.startswith("/admin/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"error": f"Not found: {request.path}"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/admin/"):
        return defaults.server_error(request)
    return JsonResponse({"error": "Internal server error (logged)"}, status=500)


handler404 = not_found
handler500 = server_error

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("alerts/", include((incident_patterns, "incidents"))),
    path("alerts/", include((noise_alert_patterns, "noise"))),
    path("alerts/", include("apps.alerts.urls")),
    path("notify/", include((notify_patterns, "notify"))),
    path("orchestration/", include("apps.orchestration.urls")),
    path("api/", include((docs_patterns, "api"))),
]
