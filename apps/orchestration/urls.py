"""Orchestration URLs: the seed's definition and run paths, the pipeline webhook, schedules."""

from django.urls import path

from apps.alerts.webhooks.views import pipeline_webhook
from apps.noise.api import RunTraceView
from apps.orchestration.api import definitions, runs, schedules

app_name = "orchestration"

urlpatterns = [
    path("pipeline/", pipeline_webhook, name="pipeline"),
    path("definitions/", definitions.DefinitionListView.as_view(), name="definition-list"),
    path(
        "definitions/<str:name>/",
        definitions.DefinitionDetailView.as_view(),
        name="definition-detail",
    ),
    path(
        "definitions/<str:name>/validate/",
        definitions.DefinitionValidateView.as_view(),
        name="definition-validate",
    ),
    path(
        "definitions/<str:name>/dry-run/",
        definitions.DefinitionDryRunView.as_view(),
        name="definition-dry-run",
    ),
    path(
        "definitions/<str:name>/execute/",
        definitions.DefinitionExecuteView.as_view(),
        name="definition-execute",
    ),
    path("runs/", runs.RunListView.as_view(), name="run-list"),
    path("runs/<str:run_id>/", runs.RunDetailView.as_view(), name="run-detail"),
    path("runs/<str:run_id>/retry/", runs.RunRetryView.as_view(), name="run-retry"),
    path("runs/<str:run_id>/cancel/", runs.RunCancelView.as_view(), name="run-cancel"),
    path("runs/<str:run_id>/trace/", RunTraceView.as_view(), name="run-trace"),
    path("schedules/", schedules.ScheduleListView.as_view(), name="schedule-list"),
    path(
        "schedules/<str:name>/",
        schedules.ScheduleDetailView.as_view(),
        name="schedule-detail",
    ),
]
