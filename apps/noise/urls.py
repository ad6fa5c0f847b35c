"""Noise control's API routes under ``/alerts/``: silences and an incident's trace (the run's
trace is at ``/orchestration/runs/<run_id>/trace/``, with the other run routes)."""

from __future__ import annotations

from django.urls import path

from apps.noise import api

alert_patterns = [
    path("silences/", api.SilenceListView.as_view(), name="silence-list"),
    path("silences/<str:silence>/", api.SilenceDetailView.as_view(), name="silence-detail"),
    path(
        "incidents/<str:incident>/trace/",
        api.IncidentTraceView.as_view(),
        name="incident-trace",
    ),
]
