"""Run a pipeline definition: in-process (``execute``) or on Celery workers (``start``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from apps.orchestration import engine
from apps.orchestration.dispatch import runner_for_start
from apps.orchestration.engine.runner import InlineRunner, Runner
from apps.orchestration.engine.sql_start import Companion
from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.results import run_result
from apps.orchestration.validation import validate_config

logger = logging.getLogger(__name__)


class DefinitionBasedOrchestrator:
    """Validates and runs one ``PipelineDefinition`` (saved, or unsaved for ad-hoc configs).

    Usage::

        orchestrator = DefinitionBasedOrchestrator(definition)
        result = orchestrator.execute(payload={...}, source="api")   # in-process, seed dict
        run = orchestrator.start(payload={...}, source="webhook")     # workers (or in-process
                                                                        # when no broker is set)
    """

    def __init__(self, definition: PipelineDefinition) -> None:
        self.definition = definition
        self.config = definition.config
        self.defaults = definition.get_defaults()
        # The config as stored in every run, serialized once per orchestrator (intake caches
        # orchestrators per definition version).
        self._config_json: str | None = None

    def validate(self) -> list[str]:
        """Every problem with the definition as a message (empty when it can run)."""
        return validate_config(self.config)

    def execute(
        self,
        payload: Any = None,
        source: str = "unknown",
        trace_id: str | None = None,
        environment: str = "production",
        incident_id: int | None = None,
    ) -> dict[str, Any]:
        """Run every node in this process and return the seed's result dictionary."""
        runner = InlineRunner()
        run = self._create(payload, source, trace_id, environment, incident_id, runner)
        drain(runner)
        run.refresh_from_db()
        return run_result(run)

    def start(
        self,
        payload: Any = None,
        source: str = "unknown",
        trace_id: str | None = None,
        environment: str = "production",
        incident_id: int | None = None,
        *,
        payload_json: str | None = None,
        companion: Companion | None = None,
        runner: Runner | None = None,
    ) -> PipelineRun:
        """Store the run and hand its entry node to the workers after the commit.

        With no broker configured (the embedded default) this process's own threads run it
        after the commit (``PIPELINE_EMBEDDED_EXECUTION=inline``: before this returns).
        ``payload_json`` is ``payload`` as JSON text already (a request body as received);
        ``companion`` a row stored with the run or not at all (a webhook's dedup record).
        """
        runner = runner or runner_for_start()
        run = self._create(
            payload, source, trace_id, environment, incident_id, runner, payload_json, companion
        )
        if isinstance(runner, InlineRunner):
            drain(runner)
            run.refresh_from_db()
        return run

    def _create(
        self,
        payload: Any,
        source: str,
        trace_id: str | None,
        environment: str,
        incident_id: int | None,
        runner: Runner,
        payload_json: str | None = None,
        companion: Companion | None = None,
    ) -> PipelineRun:
        errors = self.validate()
        if errors:
            raise DefinitionInvalidError(errors)
        if self._config_json is None:
            self._config_json = json.dumps(self.config)
        return engine.create_run(
            config=self.config,
            definition=self.definition,
            definition_name=self.definition.name,
            definition_version=self.definition.version or 1,
            payload=payload if payload is not None else {},
            source=source,
            trace_id=trace_id,
            environment=environment,
            incident_id=incident_id,
            runner=runner,
            config_json=self._config_json,
            payload_json=payload_json,
            companion=companion,
        )


def drain(runner: InlineRunner) -> None:
    """Run scheduled steps in this thread until the run ends (see ``InlineRunner.drain``)."""
    runner.drain()
