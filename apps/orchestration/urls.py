"""Orchestration API URLs."""

from django.urls import path

from apps.alerts.webhooks.views import pipeline_webhook
from apps.orchestration.api import views

app_name = "orchestration"

urlpatterns = [
    path("pipeline/", pipeline_webhook, name="pipeline"),
    path("definitions/", views.definition_list, name="definition-list"),
    path("definitions/<str:name>/", views.definition_detail, name="definition-detail"),
    path(
        "definitions/<str:name>/validate/",
        views.definition_validate,
        name="definition-validate",
    ),
    path("definitions/<str:name>/execute/", views.definition_execute, name="definition-execute"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
]
