"""Storing the run a webhook starts, exactly once per delivery, and handing it to the workers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.alerts.models import WebhookDelivery
from apps.alerts.webhooks.idempotency import DedupKey, find_recent
from apps.orchestration.defaults import is_shared
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.dispatch import broker_configured, runs_inline
from apps.orchestration.engine.sql_start import Companion
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.outbox import OutboxRunner

logger = logging.getLogger(__name__)

# Claim attempts: a lost race normally resolves on the next lookup; more than a few means the
# winner keeps rolling back, and the client is better served by a 503 and its own retry.
_MAX_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Started:
    run_id: str
    trace_id: str
    replayed: bool = False


class ClaimContendedError(Exception):
    """Identical deliveries kept colliding without a winner becoming visible."""


def start_run(
    definition: PipelineDefinition,
    *,
    payload: Any,
    source: str,
    key: DedupKey | None,
    payload_json: str | None = None,
) -> Started:
    """Store a run for this delivery (or find the earlier one with the same key) and hand its
    entry node on.

    With a broker the run and its dedup record are one INSERT statement and the entry step is
    published by this process's outbox relay after the answer (see
    ``apps.orchestration.outbox``): the request never waits for, or fails on, the broker.
    ``payload_json`` is the payload as the request's JSON text, stored as it is.

    Raises ``ClaimContendedError``, ``DefinitionInvalidError`` and the database's
    ``OperationalError``/``InterfaceError``.
    """
    orchestrator = orchestrator_for(definition)
    if key is None:
        return _start(orchestrator, payload, source, None, payload_json)
    for _ in range(_MAX_CLAIM_ATTEMPTS):
        try:
            return _start(orchestrator, payload, source, key, payload_json)
        except IntegrityError:
            # The key is taken: a repeat (answer with its run), a concurrent identical delivery
            # that won (the same), or an expired record (deleted by find_recent; try again).
            prior = find_recent(key)
            if prior is not None:
                return Started(prior.run_id, prior.trace_id, replayed=True)
    raise ClaimContendedError("identical deliveries are colliding; retry shortly")


def _start(
    orchestrator: DefinitionBasedOrchestrator,
    payload: Any,
    source: str,
    key: DedupKey | None,
    payload_json: str | None,
) -> Started:
    if runs_inline():
        return _start_inline(orchestrator, payload, source, key)
    companion = None
    if key is not None:
        record = {"source": source, "dedup_key": key.key, "created_at": timezone.now()}
        companion = Companion(WebhookDelivery, record, "run")
    runner = OutboxRunner() if broker_configured() else None
    # The run and its dedup record commit together or not at all: one statement on
    # PostgreSQL (no transaction to open), one transaction elsewhere.
    run = orchestrator.start(
        payload=payload,
        source=source,
        payload_json=payload_json,
        companion=companion,
        runner=runner,
    )
    return Started(run.run_id, run.trace_id)


def _start_inline(
    orchestrator: DefinitionBasedOrchestrator, payload: Any, source: str, key: DedupKey | None
) -> Started:
    # The test-only inline mode runs the whole pipeline inside start(): the key is claimed
    # first, so a concurrent duplicate waits on it instead of running the pipeline too.
    with transaction.atomic():
        claim = WebhookDelivery.objects.create(source=source, dedup_key=key.key) if key else None
        run = orchestrator.start(payload=payload, source=source)
        if claim is not None:
            WebhookDelivery.objects.filter(pk=claim.pk).update(run=run)
    return Started(run.run_id, run.trace_id)


class _ValidatedOnce(DefinitionBasedOrchestrator):
    """An orchestrator that validates its (immutable) config once, not on every start.

    Validation (JSON Schema, graph checks) costs about a millisecond; a webhook answering in
    a few milliseconds cannot pay it per request for a config that has not changed.
    """

    def __init__(self, definition: PipelineDefinition) -> None:
        super().__init__(definition)
        self._errors: list[str] | None = None

    def validate(self) -> list[str]:
        if self._errors is None:
            self._errors = super().validate()
        return list(self._errors)


_orchestrators: dict[tuple[Any, ...], DefinitionBasedOrchestrator] = {}
_ORCHESTRATOR_CACHE_SIZE = 128


def orchestrator_for(definition: PipelineDefinition) -> DefinitionBasedOrchestrator:
    """A cached orchestrator for this exact definition content.

    Saved definitions are keyed by id, version and last update (every config change bumps
    the version), unsaved built-ins by name and config, so an edit is picked up at once.
    """
    if definition.pk is not None:
        key: tuple[Any, ...] = (definition.pk, definition.version, definition.updated_at)
    elif is_shared(definition):
        key = ("built-in", definition.name)  # its config never changes in this process
    else:
        key = (definition.name, json.dumps(definition.config, sort_keys=True, default=str))
    orchestrator = _orchestrators.get(key)
    if orchestrator is None:
        if len(_orchestrators) >= _ORCHESTRATOR_CACHE_SIZE:
            _orchestrators.clear()
        orchestrator = _orchestrators[key] = _ValidatedOnce(definition)
    return orchestrator
