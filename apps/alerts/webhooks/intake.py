"""Storing the run a webhook starts, exactly once per delivery, and handing it to the workers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from apps.alerts.models import WebhookDelivery
from apps.alerts.webhooks.idempotency import DedupKey, find_recent
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.dispatch import BROKER_ERRORS, runs_inline
from apps.orchestration.models import PipelineDefinition, PipelineRun

logger = logging.getLogger(__name__)

# Claim attempts: a lost race normally resolves on the next lookup; more than a few means the
# winner keeps rolling back, and the client is better served by a 503 and its own retry.
_MAX_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Started:
    run_id: str
    trace_id: str
    replayed: bool = False


class PublishFailedError(Exception):
    """The run is stored but its first node could not be published (the broker is down).

    Nothing is lost: the recovery task publishes runs whose node deadline passed.
    """

    def __init__(self, run: PipelineRun, cause: Exception) -> None:
        super().__init__(f"run {run.run_id} stored, publish failed: {cause}")
        self.run_id = run.run_id
        self.trace_id = run.trace_id


class ClaimContendedError(Exception):
    """Identical deliveries kept colliding without a winner becoming visible."""


def start_run(
    definition: PipelineDefinition, *, payload: Any, source: str, key: DedupKey | None
) -> Started:
    """Store a run for this delivery (or find the earlier one with the same key) and enqueue it.

    Raises ``PublishFailedError`` (run stored, broker down), ``ClaimContendedError``,
    ``DefinitionInvalidError`` and the database's ``OperationalError``/``InterfaceError``.
    """
    orchestrator = orchestrator_for(definition)
    if key is None:
        return _start(orchestrator, payload, source, None)
    for _ in range(_MAX_CLAIM_ATTEMPTS):
        try:
            return _start(orchestrator, payload, source, key)
        except IntegrityError:
            # The key is taken: a repeat (answer with its run), a concurrent identical delivery
            # that won (the same), or an expired record (deleted by find_recent; try again).
            prior = find_recent(key)
            if prior is not None:
                return Started(prior.run_id, prior.trace_id, replayed=True)
    raise ClaimContendedError("identical deliveries are colliding; retry shortly")


def _start(
    orchestrator: DefinitionBasedOrchestrator, payload: Any, source: str, key: DedupKey | None
) -> Started:
    run: PipelineRun | None = None
    # Normally start() only inserts a row (nodes run after the commit, on workers or this
    # process's threads), and claiming the key after it saves a round trip per request: a
    # duplicate's rolled-back insert is all a lost race costs. In the test-only inline mode
    # the pipeline runs inside start(), so the key is claimed first.
    claim_first = key is not None and runs_inline()
    try:
        # One transaction: the key and the run commit together or not at all; the entry node
        # is published when it commits.
        with transaction.atomic():
            claim = (
                WebhookDelivery.objects.create(source=source, dedup_key=key.key)
                if claim_first and key
                else None
            )
            run = orchestrator.start(payload=payload, source=source)
            if claim is not None:
                WebhookDelivery.objects.filter(pk=claim.pk).update(run=run)
            elif key is not None:
                WebhookDelivery.objects.create(source=source, dedup_key=key.key, run=run)
    except BROKER_ERRORS as exc:
        if run is None:
            raise
        logger.warning(
            "run %s stored but not published: broker unavailable (%s)",
            run.run_id,
            exc,
            extra={"run_id": run.run_id, "trace_id": run.trace_id},
        )
        raise PublishFailedError(run, exc) from exc
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
    else:
        key = (definition.name, json.dumps(definition.config, sort_keys=True, default=str))
    orchestrator = _orchestrators.get(key)
    if orchestrator is None:
        if len(_orchestrators) >= _ORCHESTRATOR_CACHE_SIZE:
            _orchestrators.clear()
        orchestrator = _orchestrators[key] = _ValidatedOnce(definition)
    return orchestrator
