"""The change gate's two statements on PostgreSQL, written out: one round trip each.

1. ``lookup``: the stored alerts with their incident's status, the gate's memory *as it was*,
   and whether the delivery's dedup key is inside its window; in the same statement the
   memory is updated to this delivery (a data-modifying CTE: the SELECT sees the rows as they
   were before it, which is exactly what the comparison needs; an unchanged state writes
   nothing).
2. ``count_repeat``: an unchanged delivery's bookkeeping, the alerts' ``last_seen_at`` and
   ``seen_count`` and one more repeat on the incident's current unchanged decision, in one
   statement and one implicit transaction.

Elsewhere (SQLite) the gate builds the same with the ORM (``gate.py``). Statements are
assembled from model metadata and placeholders only; no value is formatted into SQL.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import connection

from apps.alerts.models import Alert, Incident, WebhookDelivery
from apps.noise.models import GateMemory, NoiseDecision
from project.fastcursor import fast_cursor


@functools.cache
def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def lookup(
    source: str,
    wanted: dict[str, str],
    now: datetime,
    dedup_key: str | None,
    dedup_horizon: datetime | None,
) -> tuple[list[dict[str, Any]], bool]:
    """(stored rows as ``gate._stored`` returns them, inside the dedup window)."""
    fingerprints = sorted(wanted)
    sql = f"""
        WITH wanted(fingerprint, state) AS (SELECT * FROM unnest(%s::text[], %s::text[])),
        remember AS (
            INSERT INTO {_table(GateMemory)} (source, fingerprint, state, updated_at)
            SELECT %s, w.fingerprint, w.state, %s FROM wanted w
            -- Only what differs: an unchanged delivery then writes (and locks) nothing here.
            WHERE NOT EXISTS (SELECT 1 FROM {_table(GateMemory)} k WHERE k.source = %s
                              AND k.fingerprint = w.fingerprint AND k.state = w.state)
            -- Only alerts already stored: for a new one the stored row is all a later
            -- re-push is compared with (gate._unchanged), so a delivery of new alerts writes
            -- nothing here and stays a read (no commit to wait for on the webhook's path).
              AND EXISTS (SELECT 1 FROM {_table(Alert)} s WHERE s.source = %s
                          AND s.fingerprint = w.fingerprint)
            ORDER BY w.fingerprint
            ON CONFLICT (source, fingerprint) DO UPDATE
                SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
                WHERE {_table(GateMemory)}.state IS DISTINCT FROM EXCLUDED.state
        )
        SELECT a.id, a.fingerprint, a.status, a.severity, a.incident_id, i.status, m.state,
               EXISTS (SELECT 1 FROM {_table(WebhookDelivery)} d
                       WHERE d.dedup_key = %s AND d.created_at > %s)
        FROM {_table(Alert)} a
        LEFT JOIN {_table(Incident)} i ON i.id = a.incident_id
        LEFT JOIN {_table(GateMemory)} m
            ON m.source = a.source AND m.fingerprint = a.fingerprint
        WHERE a.source = %s AND a.fingerprint = ANY(%s::text[])
    """  # noqa: S608
    params = [
        fingerprints,
        [wanted[fp] for fp in fingerprints],
        source,
        now,
        source,
        source,
        dedup_key,
        dedup_horizon,
        source,
        fingerprints,
    ]
    with fast_cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    keys = ("pk", "fingerprint", "status", "severity", "incident_id", "incident__status", "memory")
    rows = [dict(zip(keys, row[:7], strict=True)) for row in found]
    return rows, any(row[7] for row in found)


def count_repeat(
    alert_ids: list[int], incident_id: int | None, fingerprint: str, digest: str, now: datetime
) -> bool:
    """Count the repeat on the alerts, and on this delivery's streak: the latest unchanged
    decision of the incident for the same alerts, if no other decision came after it. False
    when there is no such streak (the caller starts one)."""
    scope = "incident_id = %s" if incident_id else "incident_id IS NULL AND fingerprint = %s"
    decisions = _table(NoiseDecision)
    gate = NoiseDecision.Stage.GATE.value
    sql = f"""
        WITH seen AS (
            UPDATE {_table(Alert)} SET last_seen_at = %s, seen_count = seen_count + 1
            WHERE id = ANY(%s::bigint[])
        )
        UPDATE {decisions} SET repeats = repeats + 1, last_at = %s
        WHERE id = (SELECT id FROM {decisions} WHERE {scope} AND stage = %s AND digest = %s
                    ORDER BY id DESC LIMIT 1)
          AND kind = %s
          AND id > COALESCE((SELECT id FROM {decisions} WHERE {scope} AND stage <> %s
                             ORDER BY id DESC LIMIT 1), 0)
    """  # noqa: S608
    key = incident_id or fingerprint
    params = [now, alert_ids, now, key, gate, digest, "unchanged", key, gate]
    with fast_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0
