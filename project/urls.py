"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("alerts/", include("apps.alerts.urls")),
    path("orchestration/", include("apps.orchestration.urls")),
]
