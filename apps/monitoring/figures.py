"""The dashboard's figures, read from the database (and the broker): the admin index shows
them and ``/metrics`` exports them, so both always agree.

Everything here is a read over indexed columns of the last ``WINDOW`` (runs by
``created_at``), cheap enough to compute on each page view or scrape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from apps.orchestration.models import OPEN_RUN_STATUSES, PipelineRun, RunStatus

WINDOW = timedelta(hours=24)
FINAL_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)
STALLED_SHOWN = 5


@dataclass
class DefinitionRuns:
    name: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class RunFigures:
    """Runs created in the last 24 hours."""

    since: datetime
    by_status: dict[str, int]
    by_definition: list[DefinitionRuns]
    p50_ms: float | None
    p99_ms: float | None
    stalled: int
    stalled_runs: list[PipelineRun] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def failure_rate(self) -> float | None:
        """Failed among finished runs (cancelled ones excluded: an operator chose that)."""
        failed = self.by_status.get(RunStatus.FAILED, 0)
        finished = failed + self.by_status.get(RunStatus.COMPLETED, 0)
        return failed / finished if finished else None


def run_figures(now: datetime | None = None) -> RunFigures:
    now = now or timezone.now()
    since = now - WINDOW
    recent = PipelineRun.objects.filter(created_at__gte=since)
    counts = recent.values_list("definition_name", "status").annotate(n=Count("id"))
    by_status = {status: 0 for status in RunStatus.values}
    definitions: dict[str, dict[str, int]] = {}
    for name, status, n in counts:
        by_status[status] = by_status.get(status, 0) + n
        definitions.setdefault(name, {})[status] = n
    p50, p99 = duration_percentiles(since)
    stalled = stalled_runs(now)
    return RunFigures(
        since=since,
        by_status=by_status,
        by_definition=sorted(
            (DefinitionRuns(name, counts) for name, counts in definitions.items()),
            key=lambda d: (-d.total, d.name),
        ),
        p50_ms=p50,
        p99_ms=p99,
        stalled=stalled.count(),
        stalled_runs=list(stalled.order_by("node_deadline")[:STALLED_SHOWN]),
    )


def stalled_runs(now: datetime | None = None) -> Any:
    """Open runs whose current node is past its deadline: what recovery should be moving."""
    return PipelineRun.objects.filter(
        status__in=OPEN_RUN_STATUSES, node_deadline__lt=now or timezone.now()
    )


def duration_percentiles(since: datetime) -> tuple[float | None, float | None]:
    """p50 and p99 of finished runs' durations (ms) since ``since``."""
    finished = PipelineRun.objects.filter(
        created_at__gte=since,
        status__in=(RunStatus.COMPLETED, RunStatus.FAILED),
        duration_ms__isnull=False,
    )
    if connection.vendor == "postgresql":
        sql, params = finished.values("duration_ms").query.sql_with_params()
        with connection.cursor() as cursor:
            # The ORM's own SQL as a subquery, its values as parameters.
            select = "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d.duration_ms), "
            select += "percentile_cont(0.99) WITHIN GROUP (ORDER BY d.duration_ms) "
            query = select + f"FROM ({sql}) AS d"  # noqa: S608
            cursor.execute(query, params)
            p50, p99 = cursor.fetchone()
        return p50, p99
    ordered = finished.order_by("duration_ms").values_list("duration_ms", flat=True)
    count = ordered.count()
    if not count:
        return None, None
    return _nearest(ordered, count, 0.5), _nearest(ordered, count, 0.99)


def _nearest(ordered: Any, count: int, q: float) -> float:
    # Linear interpolation between the two closest ranks, as percentile_cont does.
    rank = q * (count - 1)
    low = int(rank)
    values = list(ordered[low : low + 2])
    if len(values) == 1:
        return float(values[0])
    return float(values[0] + (values[1] - values[0]) * (rank - low))


def open_incidents() -> dict[str, int]:
    """Active (open or acknowledged) incidents by severity, most severe first."""
    from apps.alerts.drivers import Severity
    from apps.alerts.models import Incident

    found = dict(
        Incident.objects.filter(status__in=Incident.ACTIVE_STATUSES)
        .values_list("severity")
        .annotate(n=Count("id"))
    )
    ordered = sorted(Severity, key=lambda s: -s.rank)
    return {s.value: found.get(s.value, 0) for s in ordered}


@dataclass
class ChannelHealth:
    name: str
    driver: str
    is_active: bool
    pk: int
    last_status: str = ""
    last_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


def channel_health() -> list[ChannelHealth]:
    """Each channel's last delivery and last error (from the delivery ledger)."""
    from apps.notify.models import Delivery, DeliveryStatus, NotificationChannel

    channels = list(NotificationChannel.objects.order_by("name"))
    health = []
    for channel in channels:
        rows = Delivery.objects.filter(channel=channel.name).order_by("-updated_at")
        last = rows.values("status", "updated_at").first()
        error = (
            rows.filter(status__in=(DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN))
            .exclude(error="")
            .values("error", "updated_at")
            .first()
        )
        health.append(
            ChannelHealth(
                name=channel.name,
                driver=channel.driver,
                is_active=channel.is_active,
                pk=channel.pk,
                last_status=last["status"] if last else "",
                last_at=last["updated_at"] if last else None,
                last_error=error["error"] if error else "",
                last_error_at=error["updated_at"] if error else None,
            )
        )
    return health


@dataclass
class ProviderStatus:
    name: str
    key_setting: str
    configured: bool
    used_by: list[str]


def ai_providers() -> list[ProviderStatus]:
    """Each AI provider: whether its server key is set, and which active definitions use it
    (a node with its own ``provider_config.api_key`` counts as configured)."""
    from apps.intelligence.providers import PROVIDERS
    from apps.orchestration.models import PipelineDefinition

    users: dict[str, list[str]] = {}
    own_key: set[str] = set()
    for definition in PipelineDefinition.objects.filter(is_active=True).only("name", "config"):
        for node in definition.get_nodes():
            if not isinstance(node, dict) or node.get("type") != "intelligence":
                continue
            config = node.get("config") if isinstance(node.get("config"), dict) else {}
            provider = str(config.get("provider") or "local")
            users.setdefault(provider, []).append(definition.name)
            provider_config = config.get("provider_config")
            if isinstance(provider_config, dict) and provider_config.get("api_key"):
                own_key.add(provider)
    statuses = []
    for name, cls in PROVIDERS.items():
        key_setting = getattr(cls, "key_setting", "")
        configured = not key_setting or bool(getattr(settings, key_setting, "")) or name in own_key
        statuses.append(
            ProviderStatus(name, key_setting, configured, sorted(set(users.get(name, []))))
        )
    return statuses


def last_activity() -> dict[str, Any]:
    """When the last run was created and the last one finished (any status)."""
    return PipelineRun.objects.aggregate(
        created=Max("created_at"), finished=Max("completed_at", filter=Q(status__in=FINAL_STATUSES))
    )
