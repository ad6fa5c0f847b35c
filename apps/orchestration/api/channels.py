"""Notification channels: CRUD with secrets masked in every answer, and a test send.

A write that echoes a masked value keeps the stored secret (the driver's own
``restore_secrets``); a masked value edited by hand is refused, never stored with ``****``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.notify.dispatch import TEST_MESSAGE, TEST_TITLE, send_test_message
from apps.notify.drivers import DRIVER_REGISTRY, get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import SEVERITIES
from apps.notify.models import NotificationChannel
from apps.orchestration.api.base import ApiView
from apps.orchestration.api.errors import Conflict
from apps.orchestration.api.fields import (
    JSONObjectField,
    NameField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    TextField,
)
from apps.orchestration.secrets import channel_leftover_masks


def describe_channel(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "driver": channel.driver,
        "config": channel.masked_config(),
        "is_active": channel.is_active,
        "description": channel.description,
        "created_at": channel.created_at.isoformat() if channel.created_at else None,
        "updated_at": channel.updated_at.isoformat() if channel.updated_at else None,
    }


@extend_schema_field({"oneOf": [cls.config_schema() for cls in DRIVER_REGISTRY.values()]})
class DriverConfigField(JSONObjectField):
    """The driver's options: the JSON Schema of each driver's config model."""


class ChannelSerializer(serializers.Serializer):
    name = serializers.CharField()
    driver = serializers.ChoiceField(choices=list(DRIVER_REGISTRY))
    config = serializers.DictField(help_text="Secrets shown as ****")
    is_active = serializers.BooleanField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class ChannelListSerializer(serializers.Serializer):
    channels = ChannelSerializer(many=True)
    count = serializers.IntegerField()


class ChannelWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = NameField()
    driver = serializers.ChoiceField(choices=list(DRIVER_REGISTRY))
    config = DriverConfigField(help_text="The driver's options (see GET /notify/drivers/)")
    is_active = StrictBooleanField(required=False, default=True)
    description = TextField(required=False, allow_blank=True, max_length=2000, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["name"].read_only = True
            for field in self.fields.values():
                field.required = False
                field.default = serializers.empty

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        stored: NotificationChannel | None = self.instance
        driver_name = data.get("driver") or (stored.driver if stored else "")
        if "config" in data:
            config = data["config"]
            if stored is not None and driver_name == stored.driver:
                config = get_driver(driver_name).restore_secrets(config, stored.config)
            leftovers = channel_leftover_masks(config)
            if leftovers:
                raise serializers.ValidationError({"config": leftovers})
            data["config"] = config
        elif stored is not None and driver_name != stored.driver:
            raise serializers.ValidationError({"config": ["A new driver needs its config."]})
        config = data.get("config", stored.config if stored else {})
        errors = get_driver(driver_name).validate_config(config)
        if errors:
            raise serializers.ValidationError({"config": errors})
        return data

    def create(self, validated: dict[str, Any]) -> NotificationChannel:
        return _saved(NotificationChannel(**validated))

    def update(self, channel: NotificationChannel, validated: dict[str, Any]) -> Any:
        for key, value in validated.items():
            setattr(channel, key, value)
        return _saved(channel)


def _saved(channel: NotificationChannel) -> NotificationChannel:
    try:
        channel.save()  # full_clean: the model's own validation has the last word
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None
    return channel


class ChannelTestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    title = TextField(required=False, max_length=250, default=TEST_TITLE)
    message = TextField(
        required=False,
        max_length=5000,
        default=TEST_MESSAGE,
    )
    severity = serializers.ChoiceField(choices=list(SEVERITIES), required=False, default="info")


class ChannelTestResultSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    channel = serializers.CharField()
    summary = serializers.DictField(required=False)
    error = serializers.CharField(required=False)
    retryable = serializers.BooleanField(required=False)


class DriverListSerializer(serializers.Serializer):
    drivers = serializers.DictField(
        child=serializers.DictField(), help_text="Driver name to the JSON Schema of its config"
    )


def find_channel(name: str) -> NotificationChannel:
    channel = NotificationChannel.objects.filter(name=name).first()
    if channel is None:
        raise NotFound(f"Channel not found: {name}")
    return channel


class ChannelListView(ApiView):
    @extend_schema(
        summary="List channels (secrets masked)",
        operation_id="channels_list",
        responses=ChannelListSerializer,
    )
    def get(self, request: Request) -> Response:
        channels = [describe_channel(c) for c in NotificationChannel.objects.order_by("name")]
        return Response({"channels": channels, "count": len(channels)})

    @extend_schema(
        summary="Create a channel",
        request=ChannelWriteSerializer,
        responses={201: ChannelSerializer},
    )
    def post(self, request: Request) -> Response:
        body = ChannelWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if NotificationChannel.objects.filter(name=body.validated_data["name"]).exists():
            raise Conflict(f"Channel already exists: {body.validated_data['name']}")
        return Response(describe_channel(body.save()), status=status.HTTP_201_CREATED)


class ChannelDetailView(ApiView):
    @extend_schema(summary="A channel (secrets masked)", responses=ChannelSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(describe_channel(find_channel(name)))

    @extend_schema(
        summary="Update a channel; masked values sent back unchanged keep the stored secret",
        request=ChannelWriteSerializer,
        responses=ChannelSerializer,
    )
    def put(self, request: Request, name: str) -> Response:
        return self._update(request, name)

    @extend_schema(
        summary="Update some fields of a channel",
        request=ChannelWriteSerializer,
        responses=ChannelSerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        return self._update(request, name)

    def _update(self, request: Request, name: str) -> Response:
        body = ChannelWriteSerializer(find_channel(name), data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        return Response(describe_channel(body.save()))

    @extend_schema(summary="Delete a channel", responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        find_channel(name).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelTestView(ApiView):
    @extend_schema(
        summary="Send a test message through the channel's driver",
        request=ChannelTestSerializer,
        responses={
            200: ChannelTestResultSerializer,
            400: OpenApiResponse(description="The stored config is invalid"),
        },
        description="Answers 200 either way: `sent` says whether the driver delivered it, "
        "`error` and `retryable` why not.",
    )
    def post(self, request: Request, name: str) -> Response:
        channel = find_channel(name)
        body = ChannelTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = send_test_message(
                channel.driver, channel.config, source="api", **body.validated_data
            )
        except NotifyConfigError as exc:
            raise serializers.ValidationError({"config": exc.errors}) from None
        except NotifyError as exc:
            return Response(
                {"sent": False, "channel": name, "error": str(exc), "retryable": exc.retryable}
            )
        return Response({"sent": True, "channel": name, "summary": result.summary or {}})


class DriverListView(ApiView):
    @extend_schema(
        summary="Notification drivers and the JSON Schema of their config",
        responses=DriverListSerializer,
    )
    def get(self, request: Request) -> Response:
        from apps.orchestration.options import driver_schemas

        return Response({"drivers": driver_schemas()})
