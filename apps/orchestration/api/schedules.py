"""Schedules: beat periodic tasks that start a definition (``every`` 5m or a cron)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.orchestration.api.base import ApiView
from apps.orchestration.api.errors import Conflict
from apps.orchestration.api.fields import (
    JSONObjectField,
    NameField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    TextField,
)
from apps.orchestration.schedules import (
    Schedule,
    ScheduleError,
    create_schedule,
    delete_schedule,
    format_every,
    get_schedule,
    list_schedules,
    parse_cron,
    parse_every,
    set_enabled,
)


def describe_schedule(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "definition": schedule.definition_name,
        "every": format_every(schedule.every) if schedule.every is not None else None,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "environment": schedule.environment,
        "last_run_at": schedule.last_run_at.isoformat() if schedule.last_run_at else None,
        "total_run_count": schedule.total_run_count,
        "changed_at": schedule.changed_at.isoformat() if schedule.changed_at else None,
    }


class ScheduleSerializer(serializers.Serializer):
    name = serializers.CharField()
    definition = serializers.CharField()
    every = serializers.CharField(allow_null=True)
    cron = serializers.CharField(allow_null=True)
    timezone = serializers.CharField(allow_null=True)
    enabled = serializers.BooleanField()
    environment = serializers.CharField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    total_run_count = serializers.IntegerField()
    changed_at = serializers.DateTimeField(allow_null=True)


class ScheduleListSerializer(serializers.Serializer):
    schedules = ScheduleSerializer(many=True)
    count = serializers.IntegerField()


class ScheduleCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    definition = NameField(help_text="The definition to start (saved or built-in)")
    every = TextField(required=False, max_length=20, help_text="30s, 5m, 1h, 1d or 1h30m")
    cron = TextField(required=False, max_length=200, help_text="e.g. '*/5 * * * *' (UTC)")
    name = NameField(required=False, help_text="Default: '<definition> every <every>'")
    enabled = StrictBooleanField(required=False, default=True)
    environment = TextField(required=False, max_length=64, default="production")
    payload = JSONObjectField(required=False, default=dict)

    def validate_every(self, value: str) -> str:
        try:
            parse_every(value)
        except ScheduleError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_cron(self, value: str) -> str:
        try:
            parse_cron(value)
        except ScheduleError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("every" in data) == ("cron" in data):
            raise serializers.ValidationError("Give exactly one of every or cron.")
        return data


class ScheduleUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    enabled = StrictBooleanField()


def find_schedule(name: str) -> Schedule:
    try:
        return get_schedule(name)
    except ScheduleError:
        raise NotFound(f"Schedule not found: {name}") from None


class ScheduleListView(ApiView):
    @extend_schema(
        summary="List pipeline schedules",
        operation_id="schedules_list",
        responses=ScheduleListSerializer,
    )
    def get(self, request: Request) -> Response:
        schedules = [describe_schedule(s) for s in list_schedules()]
        return Response({"schedules": schedules, "count": len(schedules)})

    @extend_schema(
        summary="Schedule a definition (every 5m, or a cron expression in UTC)",
        request=ScheduleCreateSerializer,
        responses={201: ScheduleSerializer},
    )
    def post(self, request: Request) -> Response:
        body = ScheduleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            schedule = create_schedule(
                data["definition"],
                every=data.get("every"),
                cron=data.get("cron"),
                name=data.get("name"),
                enabled=data["enabled"],
                environment=data["environment"],
                payload=data["payload"],
            )
        except ScheduleError as exc:
            message = str(exc)
            if "already exists" in message:
                raise Conflict(message) from None
            raise serializers.ValidationError({"definition": [message]}) from None
        return Response(describe_schedule(schedule), status=status.HTTP_201_CREATED)


class ScheduleDetailView(ApiView):
    @extend_schema(summary="A schedule", responses=ScheduleSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(describe_schedule(find_schedule(name)))

    @extend_schema(
        summary="Enable or disable a schedule",
        request=ScheduleUpdateSerializer,
        responses=ScheduleSerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        find_schedule(name)
        body = ScheduleUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(describe_schedule(set_enabled(name, body.validated_data["enabled"])))

    @extend_schema(summary="Delete a schedule", responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        find_schedule(name)
        delete_schedule(name)
        return Response(status=status.HTTP_204_NO_CONTENT)
