"""The change gate: a webhook delivery that changes nothing starts no run.

Called by the webhook view with the alerts it already parsed, just before it would start a
run. A delivery is *unchanged* when every alert in it is stored with the same status (and,
firing, the same severity, in an open or acknowledged incident), and the last delivery the
gate passed on for it said the same (``GateMemory``: a delivery passed but not yet ingested
must not make the old state look current). Then the gate answers
``200 {"status": "unchanged", ...}`` after one write: the alerts' ``last_seen_at`` and
``seen_count``, and the decision (consecutive repeats are one row with a count). On
PostgreSQL that is two statements in all (``gate_sql``); a delivery that goes on to a run
pays one (the lookup, which also records it in the memory).

Everything else (a new alert, a status change, a severity change, an acknowledgement, an
alert whose incident is closed, a repeat inside the dedup window that the normal path answers
with its run) goes on to start a run, and the ingest node decides with row locks whether
anyone is notified. So two identical deliveries racing past the gate cost at most one extra
run that notifies no one: the ingest node of the second sees nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.utils import timezone

from apps.alerts.drivers import AlertStatus, NormalizedAlert
from apps.alerts.models import Alert, Incident, WebhookDelivery
from apps.alerts.services import stored_fingerprint
from apps.alerts.webhooks.idempotency import DedupKey
from apps.noise import clock, gate_sql
from apps.noise.config import NoiseSettings
from apps.noise.decide import UNCHANGED, severity_rank
from apps.noise.models import GateMemory, NoiseDecision

logger = logging.getLogger(__name__)


def state_of(alert: NormalizedAlert) -> str:
    """What the gate compares: status, severity (only firing alerts carry a meaningful one)
    and the source's acknowledge event."""
    severity = alert.severity.value if alert.status is AlertStatus.FIRING else ""
    return f"{alert.status.value}|{severity}|{alert.event.value}"


def change_gate(
    definition: Any, source: str, alerts: list[NormalizedAlert], key: DedupKey | None
) -> JsonResponse | None:
    """``200 unchanged`` for a delivery that changes nothing (no run), else None.

    Only for definitions with an ingest node (the rest are not noise-controlled) and
    ``on_unchanged: "skip"`` (the default). Database errors propagate (the view answers 503).
    """
    config = definition.config if isinstance(definition.config, dict) else {}
    if not alerts or not _ingests(config):
        return None
    wanted: dict[str, str] = {}
    for alert in alerts:
        fingerprint = stored_fingerprint(alert.fingerprint)
        if wanted.setdefault(fingerprint, state_of(alert)) != state_of(alert):
            wanted[fingerprint] = "contradictory"  # one delivery, two states: let ingest sort it
    now = clock.now()
    skip = NoiseSettings.from_config(config).on_unchanged == "skip"
    # The dedup records live on the real clock (apps/alerts/webhooks/idempotency.py).
    horizon = timezone.now() - timedelta(seconds=key.ttl_seconds) if key else None
    if connection.vendor == "postgresql":
        # One statement reads the stored alerts and the memory and writes the memory.
        rows, replay = gate_sql.lookup(source, wanted, now, key.key if key else None, horizon)
        if not skip or not _unchanged(rows, wanted):
            return None
    else:
        rows = _stored(source, list(wanted)) if skip else []
        if not skip or not _unchanged(rows, wanted):
            _remember(source, wanted, now)
            return None
        replay = key is not None and _inside_dedup_window(key.key, horizon)
    if replay:
        return None  # a repeat the normal path answers with the earlier run
    primary = _primary(rows)
    reason = (
        f"unchanged: {len(wanted)} alert(s) re-sent with the same status and severity; "
        "no run started (on_unchanged: skip)"
    )
    _record(definition, source, primary, rows, wanted, key, reason, now)
    incident_ids = list(dict.fromkeys(r["incident_id"] for r in rows if r["incident_id"]))
    return JsonResponse(
        {
            "status": "unchanged",
            "incident_id": primary["incident_id"],
            "incident_ids": incident_ids,
            "alerts": len(wanted),
            "reason": reason,
        },
        status=200,
    )


def _ingests(config: dict[str, Any]) -> bool:
    nodes = config.get("nodes")
    return isinstance(nodes, list) and any(
        isinstance(n, dict) and n.get("type") == "ingest" for n in nodes
    )


def _stored(source: str, fingerprints: list[str]) -> list[dict[str, Any]]:
    """The stored alerts with their incident's status and the gate's memory: one query."""
    memory = GateMemory.objects.filter(
        source=OuterRef("source"), fingerprint=OuterRef("fingerprint")
    ).values("state")[:1]
    return list(
        Alert.objects.filter(source=source, fingerprint__in=fingerprints)
        .annotate(memory=Subquery(memory))
        .values(
            "pk", "fingerprint", "status", "severity", "incident_id", "incident__status", "memory"
        )
    )


def _unchanged(rows: list[dict[str, Any]], wanted: dict[str, str]) -> bool:
    if len(rows) != len(wanted):
        return False  # an alert not stored yet: new (or its first run has not ingested it)
    for row in rows:
        state = wanted[row["fingerprint"]]
        if state == "contradictory":
            return False
        status, severity, event = state.split("|")
        if row["status"] != status:
            return False
        if status == AlertStatus.FIRING and (
            row["severity"] != severity or row["incident__status"] not in Incident.ACTIVE_STATUSES
        ):
            return False
        memory = row["memory"]
        # No memory: never passed by the gate (stored by an earlier version, an API run):
        # the stored row is all there is. An acknowledgement needs the memory to be repeated.
        if memory is None and event:
            return False
        if memory is not None and memory != state:
            return False
    return True


def _inside_dedup_window(key: str, horizon: datetime | None) -> bool:
    return WebhookDelivery.objects.filter(dedup_key=key, created_at__gt=horizon).exists()


def _primary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The incident the answer names: the most severe firing alert's, as ingest chooses."""
    firing = [r for r in rows if r["status"] == AlertStatus.FIRING] or rows
    return max(firing, key=lambda r: severity_rank(r["severity"]))


def _remember(source: str, wanted: dict[str, str], now: datetime) -> None:
    """Record what this delivery says about stored alerts, before its run starts (see
    ``GateMemory``; a new alert's stored row is all a later re-push is compared with)."""
    stored = set(
        Alert.objects.filter(source=source, fingerprint__in=list(wanted)).values_list(
            "fingerprint", flat=True
        )
    )
    wanted = {fp: state for fp, state in wanted.items() if fp in stored}
    if not wanted:
        return
    GateMemory.objects.bulk_create(
        # Sorted: two upserts of overlapping alerts lock them in one order (no deadlock).
        [
            GateMemory(source=source, fingerprint=fp, state=state, updated_at=now)
            for fp, state in sorted(wanted.items())
        ],
        update_conflicts=True,
        unique_fields=["source", "fingerprint"],
        update_fields=["state", "updated_at"],
    )


def _record(
    definition: Any,
    source: str,
    primary: dict[str, Any],
    rows: list[dict[str, Any]],
    wanted: dict[str, str],
    key: DedupKey | None,
    reason: str,
    now: datetime,
) -> None:
    """Count the repeat on the alerts and on this delivery's streak (see
    ``gate_sql.count_repeat``), else start a new streak row."""
    digest = hashlib.sha256(
        json.dumps([source, sorted(wanted.items())], separators=(",", ":")).encode()
    ).hexdigest()[:32]
    incident_id = primary["incident_id"]
    alert_ids = [r["pk"] for r in rows]
    if connection.vendor == "postgresql":
        # One statement, one implicit transaction: the common case of a long streak.
        repeated = gate_sql.count_repeat(
            alert_ids, incident_id, primary["fingerprint"], digest, now
        )
    else:
        with transaction.atomic():
            Alert.objects.filter(pk__in=alert_ids).update(
                last_seen_at=now, seen_count=F("seen_count") + 1
            )
            scope = (
                NoiseDecision.objects.filter(incident_id=incident_id)
                if incident_id
                else NoiseDecision.objects.filter(
                    incident__isnull=True, fingerprint=primary["fingerprint"]
                )
            )
            gate = NoiseDecision.Stage.GATE
            streak = scope.filter(stage=gate, digest=digest).order_by("-id").values("pk")[:1]
            breaker = scope.exclude(stage=gate).order_by("-id").values("pk")[:1]
            repeated = bool(
                NoiseDecision.objects.filter(pk=Subquery(streak), kind=UNCHANGED)
                .filter(pk__gt=Coalesce(Subquery(breaker), 0))
                .update(repeats=F("repeats") + 1, last_at=now)
            )
    if repeated:
        return
    NoiseDecision.objects.create(
        at=now,
        last_at=now,
        stage=NoiseDecision.Stage.GATE,
        kind=UNCHANGED,
        reason=reason,
        incident_id=incident_id,
        source=source,
        fingerprint=primary["fingerprint"],
        fingerprints=sorted(wanted),
        digest=digest,
        dedup_key=key.key if key else "",
        definition_name=getattr(definition, "name", ""),
    )
