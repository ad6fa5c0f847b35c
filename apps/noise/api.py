"""Noise control over the REST API: silences (CRUD; delete = expire), the decision trace of a
run or an incident, and the decisions shown with runs and incidents.

Same rules as the CLI and the admin (``apps.noise.silences``); scopes as everywhere: ``read``
for GET, ``write`` for the rest. Bad input is a 400 naming the field, never a 5xx.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.noise import clock, silences, trace
from apps.noise.config import DurationError, parse_duration
from apps.noise.matchers import Matcher, MatcherError, check, parse
from apps.noise.models import NoiseDecision, NoiseState, Silence
from apps.orchestration.api.base import ApiView
from apps.orchestration.api.fields import RejectUnknownFieldsMixin, TextField
from apps.orchestration.api.pagination import Pages

MAX_ID = 2**63 - 1
MAX_MATCHERS = 50


# --- silences -----------------------------------------------------------------------------------


MATCHER_OBJECT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "op": {"type": "string", "enum": ["=", "!=", "=~", "!~"]},
        "value": {"type": "string"},
    },
    "required": ["name", "op", "value"],
}


@extend_schema_field({"oneOf": [{"type": "string", "example": "host=~web-.*"}, MATCHER_OBJECT]})
class MatcherField(serializers.Field):
    """``"host=~web-.*"`` (Alertmanager's text form) or ``{"name", "op", "value"}``."""

    default_error_messages = {"invalid": "Must be a string like 'name=value' or an object."}

    def to_internal_value(self, data: Any) -> Matcher:
        try:
            if isinstance(data, str):
                return parse(data)
            if isinstance(data, dict):
                return Matcher.from_dict(data)
        except MatcherError as exc:
            raise serializers.ValidationError(str(exc)) from None
        self.fail("invalid")
        raise AssertionError  # fail() raises

    def to_representation(self, value: Any) -> dict[str, str]:
        return value.to_dict() if isinstance(value, Matcher) else dict(value)


class SilenceSerializer(serializers.ModelSerializer):
    matchers = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    matchers_text = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id", "matchers", "matchers_text", "state", "starts_at", "ends_at", "created_by",
            "comment", "created_at", "updated_at",
        ]  # fmt: skip

    def get_matchers_text(self, silence: Silence) -> str:
        return silence.describe()

    def get_state(self, silence: Silence) -> str:
        return silence.state(clock.now())


class SilenceCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    matchers = serializers.ListField(
        child=MatcherField(), allow_empty=False, max_length=MAX_MATCHERS
    )
    comment = TextField(max_length=2000, help_text="Why (operators read this later)")
    created_by = TextField(required=False, max_length=255, help_text="Default: the API key")
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now")
    ends_at = serializers.DateTimeField(required=False)
    duration = TextField(required=False, max_length=20, help_text="2h, 30m, 1d (or ends_at)")

    def validate_matchers(self, value: list[Matcher]) -> list[Matcher]:
        try:
            check(value)
        except MatcherError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_duration(self, value: str) -> Any:
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("ends_at" in data) == ("duration" in data):
            raise serializers.ValidationError("Give exactly one of ends_at or duration.")
        return data


class SilenceUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    ends_at = serializers.DateTimeField(required=False, help_text="Extend or shorten it")
    comment = TextField(required=False, max_length=2000)


class SilenceFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=[(s, s) for s in ("active", "pending", "expired", "all")],
        method="by_state",
        help_text="Default: active and pending",
    )

    class Meta:
        model = Silence
        fields = ["state"]

    def by_state(self, queryset: Any, name: str, value: str) -> Any:
        now = clock.now()
        if value == "active":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if value == "pending":
            return queryset.filter(starts_at__gt=now)
        if value == "expired":
            return queryset.filter(ends_at__lte=now)
        return queryset


def _saved(silence: Silence) -> Silence:
    try:
        silences.save(silence)
    except silences.SilenceError as exc:
        raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
    return silence


def find_silence(raw: str) -> Silence:
    found = Silence.objects.filter(pk=int(raw)).first() if _valid_id(raw) else None
    if found is None:
        raise NotFound(f"Silence not found: {raw}")
    return found


def _valid_id(raw: str) -> bool:
    return raw.isdigit() and 0 < int(raw) <= MAX_ID


class SilenceListView(ApiView, generics.ListAPIView):
    """Active and pending silences, soonest first (``?state=expired|all`` for the rest)."""

    serializer_class = SilenceSerializer
    filterset_class = SilenceFilter
    pagination_class = Pages

    def get_queryset(self) -> Any:
        queryset = Silence.objects.order_by("starts_at", "id")
        if "state" not in self.request.query_params:
            return queryset.filter(ends_at__gt=clock.now())
        return queryset

    @extend_schema(summary="List silences (maintenance windows)")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Silence matching alerts for a while (stored, never notified)",
        request=SilenceCreateSerializer,
        responses={201: SilenceSerializer},
    )
    def post(self, request: Request) -> Response:
        body = SilenceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        start = data.get("starts_at") or clock.now()
        end = data.get("ends_at") or start + data["duration"]
        silence = _saved(
            Silence(
                matchers=[m.to_dict() for m in data["matchers"]],
                starts_at=start,
                ends_at=end,
                created_by=data.get("created_by") or str(getattr(request.user, "username", "")),
                comment=data["comment"],
            )
        )
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)


class SilenceDetailView(ApiView):
    @extend_schema(summary="A silence", responses=SilenceSerializer)
    def get(self, request: Request, silence: str) -> Response:
        return Response(SilenceSerializer(find_silence(silence)).data)

    @extend_schema(
        summary="Change a silence's end or comment (matchers are fixed: expire and add anew)",
        request=SilenceUpdateSerializer,
        responses=SilenceSerializer,
    )
    def patch(self, request: Request, silence: str) -> Response:
        found = find_silence(silence)
        body = SilenceUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        for key, value in body.validated_data.items():
            setattr(found, key, value)
        if "ends_at" in body.validated_data:
            found.end_handled_at = None  # a new end is handled when it comes
        return Response(SilenceSerializer(_saved(found)).data)

    @extend_schema(
        summary="Expire a silence now (it stays listed as expired)", responses=SilenceSerializer
    )
    def delete(self, request: Request, silence: str) -> Response:
        found = find_silence(silence)
        silences.expire(found)
        return Response(SilenceSerializer(found).data)


# --- decisions and traces -----------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = NoiseDecision
        fields = [
            "id", "at", "last_at", "repeats", "stage", "kind", "notify", "analyze",
            "reuse_analysis", "folded", "reason", "incident_id", "run_id", "fingerprint",
            "fingerprints", "silence_id", "details",
        ]  # fmt: skip


def run_decisions(run_id: str) -> list[dict[str, Any]]:
    """The noise decisions a run acted on (what the run API shows under ``noise``)."""
    return list(DecisionSerializer(NoiseDecision.objects.filter(run_id=run_id), many=True).data)


def incident_noise(incident_id: int, *, latest: int = 50) -> dict[str, Any]:
    """The incident's noise state and its latest decisions (the incident API's ``noise``)."""
    state = NoiseState.objects.filter(pk=incident_id).first()
    decisions = NoiseDecision.objects.filter(incident_id=incident_id).order_by("-at", "-id")
    return {
        "state": None
        if state is None
        else {
            "told": state.told,
            "last_notified_at": state.last_notified_at,
            "last_notified_kind": state.last_notified_kind,
            "next_reminder_at": state.next_reminder_at,
            "folded": state.folded,
            "digest_due_at": state.digest_due_at,
            "flapping_since": state.flapping_since,
            "flap_quiet_until": state.flap_quiet_until,
            "analysis_at": state.analysis_at,
            "analysis_run_id": state.analysis_run_id,
            "definition": state.definition_name,
        },
        "decisions": list(DecisionSerializer(decisions[:latest], many=True).data)[::-1],
    }


class TraceSerializer(serializers.Serializer):
    """``manage.py trace --json``: the incident, its alerts, and events in time order (each a
    decision with its run, nodes and channel deliveries, or a run without a decision)."""

    incident = serializers.DictField(allow_null=True)
    alerts = serializers.ListField(child=serializers.DictField())
    events = serializers.ListField(child=serializers.DictField())
    events_omitted = serializers.IntegerField()


LIMIT = OpenApiParameter(
    "limit", int, description=f"latest N events (0: all; default {trace.DEFAULT_LIMIT})"
)


class RunTraceView(ApiView):
    @extend_schema(
        summary="Why was (or wasn't) anyone notified: the run's delivery, decisions, nodes, "
        "channels (as manage.py trace)",
        responses=TraceSerializer,
    )
    def get(self, request: Request, run_id: str) -> Response:
        try:
            return Response(trace.build_run(run_id))
        except trace.TraceNotFound:
            raise NotFound(f"Run not found: {run_id}") from None


class IncidentTraceView(ApiView):
    @extend_schema(
        summary="An incident's deliveries, decisions, runs and channels (as manage.py trace)",
        parameters=[LIMIT],
        responses=TraceSerializer,
    )
    def get(self, request: Request, incident: str) -> Response:
        raw = request.query_params.get("limit", str(trace.DEFAULT_LIMIT))
        if not raw.isdigit() or int(raw) > 100_000:
            raise serializers.ValidationError({"limit": ["Must be a whole number (0: all)."]})
        if not _valid_id(incident):
            raise NotFound(f"Incident not found: {incident}")
        try:
            return Response(trace.build_incident(int(incident), limit=int(raw)))
        except trace.TraceNotFound:
            raise NotFound(f"Incident not found: {incident}") from None


__all__ = [
    "IncidentTraceView",
    "RunTraceView",
    "SilenceDetailView",
    "SilenceListView",
    "incident_noise",
    "run_decisions",
]
