"""Incidents: list and detail (with their alerts and runs); acknowledge, resolve, close."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.alerts.incidents import (
    IncidentStateError,
    acknowledge_incident,
    close_incident,
    resolve_incident,
)
from apps.alerts.models import Alert, Incident
from apps.orchestration.api.base import ApiView
from apps.orchestration.api.errors import Conflict
from apps.orchestration.api.pagination import Pages
from apps.orchestration.api.run_serializers import RunSummarySerializer

MAX_ID = 2**63 - 1


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id", "source", "fingerprint", "name", "status", "severity", "description",
            "labels", "annotations", "started_at", "ended_at", "received_at", "updated_at",
            "last_seen_at", "seen_count",
        ]  # fmt: skip


class IncidentSerializer(serializers.ModelSerializer):
    alert_count = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "title", "description", "status", "severity", "source", "group_key",
            "created_at", "updated_at", "acknowledged_at", "resolved_at", "closed_at",
            "alert_count",
        ]  # fmt: skip

    def get_alert_count(self, incident: Incident) -> int:
        return incident.alerts.count()


class IncidentDetailSerializer(IncidentSerializer):
    alerts = AlertSerializer(many=True, read_only=True)
    runs = serializers.SerializerMethodField()
    noise = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "runs", "noise"]

    @extend_schema_field(serializers.DictField())
    def get_noise(self, incident: Incident) -> Any:
        """Noise state and latest decisions; the full path at .../trace/ (docs/noise.md)."""
        from apps.noise.api import incident_noise

        return incident_noise(incident.pk)

    @extend_schema_field(RunSummarySerializer(many=True))
    def get_runs(self, incident: Incident) -> Any:
        runs = incident.pipeline_runs.order_by("-created_at")[:100]
        return RunSummarySerializer(runs, many=True).data


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.CharFilter(max_length=16)
    source = django_filters.CharFilter(max_length=32)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["status", "severity", "source", "since", "until"]


def incident_id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise NotFound(f"Incident not found: {raw}")
    return int(raw)


def find_incident(raw: str) -> Incident:
    incident = Incident.objects.filter(pk=incident_id(raw)).first()
    if incident is None:
        raise NotFound(f"Incident not found: {raw}")
    return incident


class IncidentListView(ApiView, generics.ListAPIView):
    """Newest first. Filters: status, severity, source, since, until."""

    queryset = Incident.objects.all().order_by("-created_at", "-id")
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    pagination_class = Pages

    @extend_schema(summary="List incidents, newest first")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class IncidentDetailView(ApiView):
    @extend_schema(
        summary="An incident with its alerts and runs", responses=IncidentDetailSerializer
    )
    def get(self, request: Request, incident: str) -> Response:
        return Response(IncidentDetailSerializer(find_incident(incident)).data)


class _IncidentAction(ApiView):
    change = staticmethod(close_incident)

    def post(self, request: Request, incident: str) -> Response:
        pk = incident_id(incident)
        try:
            changed = type(self).change(pk)
        except IncidentStateError as exc:
            raise Conflict(str(exc)) from None
        if changed is None:
            raise NotFound(f"Incident not found: {incident}")
        return Response(IncidentDetailSerializer(changed).data)


_ACTION_RESPONSES = {
    200: IncidentDetailSerializer,
    409: OpenApiResponse(description="The incident's status does not allow it"),
}


class IncidentAcknowledgeView(_IncidentAction):
    change = staticmethod(acknowledge_incident)

    @extend_schema(
        summary="Acknowledge an open incident", request=None, responses=_ACTION_RESPONSES
    )
    def post(self, request: Request, incident: str) -> Response:
        return super().post(request, incident)


class IncidentResolveView(_IncidentAction):
    change = staticmethod(resolve_incident)

    @extend_schema(summary="Resolve an active incident", request=None, responses=_ACTION_RESPONSES)
    def post(self, request: Request, incident: str) -> Response:
        return super().post(request, incident)


class IncidentCloseView(_IncidentAction):
    change = staticmethod(close_incident)

    @extend_schema(summary="Close an incident for good", request=None, responses=_ACTION_RESPONSES)
    def post(self, request: Request, incident: str) -> Response:
        return super().post(request, incident)
