"""Silences (maintenance windows): create, list, expire, and which one holds an alert.

The admin, the API and ``manage.py silence`` all go through these functions, so the rules
(matchers valid, an end after the start, a creator and a comment) hold for every writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from apps.noise import clock
from apps.noise import matchers as rules
from apps.noise.models import Silence
from project import rows


class SilenceError(ValueError):
    """A silence that cannot be saved; ``str()`` says what to fix."""


@dataclass(frozen=True)
class ActiveSilence:
    id: int
    matchers: list[rules.Matcher]
    ends_at: datetime


def create(
    matchers: list[rules.Matcher],
    *,
    created_by: str,
    comment: str,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    starts_at: datetime | None = None,
) -> Silence:
    """Store a silence from ``starts_at`` (default now) to ``ends_at`` or for ``duration``."""
    now = clock.now()
    start = starts_at or now
    if (ends_at is None) == (duration is None):
        raise SilenceError("give either an end time or a duration")
    end = ends_at if ends_at is not None else start + duration  # type: ignore[operator]
    silence = Silence(
        matchers=[m.to_dict() for m in matchers],
        starts_at=start,
        ends_at=end,
        created_by=created_by.strip(),
        comment=comment.strip(),
    )
    save(silence)
    return silence


def save(silence: Silence) -> None:
    """Validate and save (refusing invalid matchers, an end before the start, no comment)."""
    try:
        rules.check(rules.from_json(silence.matchers))
        silence.full_clean(exclude=["end_handled_at"])
    except rules.MatcherError as exc:
        raise SilenceError(str(exc)) from None
    except ValidationError as exc:
        raise SilenceError(_messages(exc)) from None
    silence.save()


def expire(silence: Silence) -> bool:
    """End the silence now; False when it had ended already."""
    now = clock.now()
    if silence.ends_at <= now:
        return False
    silence.ends_at = max(now, silence.starts_at)
    silence.save(update_fields=["ends_at", "updated_at"])
    return True


def listing(*, include_expired: bool = False) -> QuerySet[Silence]:
    qs = Silence.objects.order_by("starts_at", "id")
    return qs if include_expired else qs.filter(ends_at__gt=clock.now())


def active(now: datetime) -> list[ActiveSilence]:
    """Silences in force at ``now`` (rows with unreadable matchers are skipped, not fatal)."""
    found = []
    # Every ingest asks, so the statement is written once (prepared on PostgreSQL). The
    # model's order: the newest silence that matches is the one a decision names.
    in_force = rows.values(
        Silence,
        ("id", "matchers", "ends_at"),
        "{starts_at} <= %s AND {ends_at} > %s",
        [rows.param(Silence, "starts_at", now)] * 2,
        order="{starts_at} DESC, {id} DESC",
    )
    for row in in_force:
        try:
            found.append(ActiveSilence(row["id"], rules.from_json(row["matchers"]), row["ends_at"]))
        except rules.MatcherError:
            continue
    return found


def holding(subject: rules.Subject, silences: list[ActiveSilence]) -> int | None:
    """The id of the first silence that matches the alert, else None."""
    for silence in silences:
        if rules.matches_all(silence.matchers, subject):
            return silence.id
    return None


def subject(alert: dict[str, Any]) -> rules.Subject:
    """A ``Subject`` from an alert row's values (source, severity, name, labels)."""
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    return rules.Subject(
        source=str(alert.get("source") or ""),
        severity=str(alert.get("severity") or ""),
        name=str(alert.get("name") or ""),
        labels={str(k): str(v) for k, v in labels.items()},
    )


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "; ".join(exc.messages)
