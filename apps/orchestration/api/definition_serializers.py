"""Serializers for pipeline definitions: the one place their input is typed and validated."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.orchestration.api.errors import DefinitionInvalid
from apps.orchestration.api.fields import (
    JSONObjectField,
    NameField,
    NumberField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    TextField,
)
from apps.orchestration.defaults import RESERVED_NAMES, is_builtin
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.schema import PIPELINE_SCHEMA
from apps.orchestration.secrets import leftover_masks, mask_config, restore_config
from apps.orchestration.validation import validate_config

DESCRIPTION_MAX_LENGTH = 10_000
TAGS_MAX = 50


@extend_schema_field({k: v for k, v in PIPELINE_SCHEMA.items() if not k.startswith("$")})
class PipelineConfigField(JSONObjectField):
    """The definition's config (docs/pipelines.md); validated as a whole by the serializer."""


class TagsField(serializers.DictField):
    """``{"team": "ops"}``: string keys to string values."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=TextField(max_length=200, allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        if len(value) > TAGS_MAX:
            raise serializers.ValidationError(f"At most {TAGS_MAX} tags.")
        if any(len(key) > 100 for key in value):
            raise serializers.ValidationError("Tag names are at most 100 characters.")
        return value


def describe(definition: PipelineDefinition, full: bool = True) -> dict[str, Any]:
    """The seed's definition shape (``full`` adds config and creation), config masked."""
    data: dict[str, Any] = {
        "name": definition.name,
        "description": definition.description,
        "version": definition.version,
        "is_active": definition.is_active,
        "builtin": is_builtin(definition),
        "node_count": len(definition.get_nodes()),
        "tags": definition.tags if isinstance(definition.tags, dict | list) else {},
        "updated_at": definition.updated_at.isoformat() if definition.updated_at else None,
    }
    if full:
        data |= {
            "config": mask_config(definition.config),
            "created_by": definition.created_by,
            "created_at": definition.created_at.isoformat() if definition.created_at else None,
        }
    return data


class DefinitionSummarySerializer(serializers.Serializer):
    """Output only: one entry of the definition list."""

    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.IntegerField()
    is_active = serializers.BooleanField()
    builtin = serializers.BooleanField()
    node_count = serializers.IntegerField()
    tags = serializers.DictField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)


class DefinitionDetailSerializer(DefinitionSummarySerializer):
    config = PipelineConfigField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)


class DefinitionListSerializer(serializers.Serializer):
    definitions = DefinitionSummarySerializer(many=True)
    count = serializers.IntegerField()


def checked_config(config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` with echoed masks restored, validated; ``DefinitionInvalid`` lists problems."""
    if stored is not None:
        config = restore_config(config, stored)
    errors = validate_config(config) + leftover_masks(config)
    if errors:
        raise DefinitionInvalid(errors)
    return config


class DefinitionWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Create (every field) or update (``name`` and ``created_by`` are fixed once created)."""

    name = NameField()
    description = TextField(
        required=False, allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH, default=""
    )
    config = PipelineConfigField()
    tags = TagsField(required=False, default=dict)
    is_active = StrictBooleanField(required=False, default=True)
    created_by = TextField(required=False, max_length=255, default="api")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            # Renaming would break every schedule, webhook URL and run that names it.
            for fixed in ("name", "created_by"):
                self.fields[fixed].read_only = True
            for field in self.fields.values():
                field.required = False
                field.default = serializers.empty

    def validate_name(self, name: str) -> str:
        if name in RESERVED_NAMES:
            raise serializers.ValidationError(f"{name!r} is the name of a built-in definition.")
        return name

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return checked_config(config, self.instance.config if self.instance else None)

    def create(self, validated: dict[str, Any]) -> PipelineDefinition:
        return PipelineDefinition.objects.create(**validated)

    def update(self, definition: PipelineDefinition, validated: dict[str, Any]) -> Any:
        for key, value in validated.items():
            setattr(definition, key, value)
        definition.save()  # bumps the version when the config changed
        return definition


class ExecuteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    payload = JSONObjectField(required=False, default=dict)
    source = TextField(required=False, max_length=64, default="api")
    trace_id = TextField(required=False, allow_null=True, max_length=64, default=None)
    environment = TextField(required=False, max_length=64, default="production")
    incident_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1, default=None
    )
    wait = NumberField(
        required=False,
        min_value=0,
        max_value=60,
        default=30,
        help_text="Seconds to wait for the run to finish (0-60, default 30): 200 with the "
        "result if it finished, else 202 with its status URL.",
    )

    def validate_incident_id(self, value: int | None) -> int | None:
        from apps.alerts.models import Incident

        if value is not None and not Incident.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"{value} is not an existing incident.")
        return value


class ValidationResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.CharField())


class QueuedSerializer(serializers.Serializer):
    status = serializers.CharField()
    run_id = serializers.CharField()
    trace_id = serializers.CharField()
    status_url = serializers.CharField()


class DryRunStepSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    next = serializers.ListField(child=serializers.CharField())
    branches = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    required = serializers.BooleanField()
    queue = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    name = serializers.CharField()
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.CharField())
    entry = serializers.CharField(allow_null=True)
    order = serializers.ListField(child=serializers.CharField())
    steps = DryRunStepSerializer(many=True)
    paths = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
