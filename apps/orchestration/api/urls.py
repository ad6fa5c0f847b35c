"""API routes outside ``/orchestration/``: channels, incidents, and the schema and its docs."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.orchestration.api import channels, incidents

notify_patterns = [
    path("drivers/", channels.DriverListView.as_view(), name="driver-list"),
    path("channels/", channels.ChannelListView.as_view(), name="channel-list"),
    path("channels/<str:name>/", channels.ChannelDetailView.as_view(), name="channel-detail"),
    path("channels/<str:name>/test/", channels.ChannelTestView.as_view(), name="channel-test"),
]

incident_patterns = [
    path("incidents/", incidents.IncidentListView.as_view(), name="incident-list"),
    path(
        "incidents/<str:incident>/",
        incidents.IncidentDetailView.as_view(),
        name="incident-detail",
    ),
    path(
        "incidents/<str:incident>/acknowledge/",
        incidents.IncidentAcknowledgeView.as_view(),
        name="incident-acknowledge",
    ),
    path(
        "incidents/<str:incident>/resolve/",
        incidents.IncidentResolveView.as_view(),
        name="incident-resolve",
    ),
    path(
        "incidents/<str:incident>/close/",
        incidents.IncidentCloseView.as_view(),
        name="incident-close",
    ),
]

docs_patterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[]),
        name="swagger-ui",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", permission_classes=[]),
        name="redoc",
    ),
]
