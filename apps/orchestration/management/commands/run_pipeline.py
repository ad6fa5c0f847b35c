"""
Run a pipeline from the command line.

Usage:
    python manage.py run_pipeline --sample                       # sample Alertmanager alert
    python manage.py run_pipeline --sample --source grafana      # another source's sample
    python manage.py run_pipeline --payload '{"alerts": [...]}'
    python manage.py run_pipeline --file alert.json
    python manage.py run_pipeline --checks-only                  # health checks, no alert
    python manage.py run_pipeline --definition my-pipeline [--payload ...]
    python manage.py run_pipeline --config ./pipelines/custom.json
    python manage.py run_pipeline --definition my-pipeline --dry-run
    python manage.py run_pipeline --definition my-pipeline --async [--wait]
    python manage.py run_pipeline --definition health-check       # built-ins run by name too
    python manage.py run_pipeline --retry <run_id> [--wait]       # from the failed node

Without --async every node runs in this process; with it the run goes to the Celery workers
and --wait follows it node by node. The exit code is non-zero when the run fails.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.orchestration.defaults import (
    checks_only_definition,
    default_alert_definition,
    resolve_definition,
)
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.dispatch import broker_configured
from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.results import run_result


class Command(BaseCommand):
    help = "Run a pipeline definition (or the built-in alert pipeline) in-process or on workers"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--definition", help="Name of a PipelineDefinition to run")
        parser.add_argument("--config", help="Path to a JSON file with a pipeline config")
        parser.add_argument("--payload", help="Alert/input payload as a JSON string")
        parser.add_argument("--file", help="Path to a JSON file with the payload")
        parser.add_argument(
            "--sample", action="store_true", help="Use a sample alert (see --source)"
        )
        parser.add_argument(
            "--checks-only",
            action="store_true",
            help="Run the health checks standalone (context -> intelligence -> notify)",
        )
        parser.add_argument(
            "--source", help="Alert source (default: alertmanager for --sample, else cli)"
        )
        parser.add_argument("--environment", default="production")
        parser.add_argument("--trace-id", help="Trace id to correlate this run")
        parser.add_argument("--dry-run", action="store_true", help="Show what would run")
        parser.add_argument("--json", action="store_true", help="Print only the result JSON")
        parser.add_argument(
            "--async",
            dest="run_async",
            action="store_true",
            help="Start the run on the Celery workers and print its run id",
        )
        parser.add_argument(
            "--wait", action="store_true", help="With --async: follow the run to its end"
        )
        parser.add_argument(
            "--timeout", type=float, default=600.0, help="Seconds --wait waits (default 600)"
        )
        parser.add_argument(
            "--retry",
            metavar="RUN_ID",
            help="Retry a failed run from its failed node (a new attempt in the same run)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry"]:
            self._retry(options)
            return
        if options["definition"] and options["config"]:
            raise CommandError("Cannot specify both --definition and --config")
        if options["payload"] and options["file"]:
            raise CommandError("Cannot specify both --payload and --file")
        if options["wait"] and not options["run_async"]:
            options["run_async"] = True
        source = options["source"] or ("alertmanager" if options["sample"] else "cli")
        options["source"] = source
        definition, config_path = self._get_definition(options)
        payload = self._get_payload(options)

        if options["dry_run"]:
            self._show_dry_run(definition, payload, options, config_path)
            return

        orchestrator = DefinitionBasedOrchestrator(definition)
        errors = orchestrator.validate()
        if errors:
            raise CommandError("Pipeline definition invalid:\n  - " + "\n  - ".join(errors))

        run_args = {
            "payload": payload,
            "source": source,
            "trace_id": options["trace_id"],
            "environment": options["environment"],
        }
        if not options["json"]:
            self.stdout.write(self.style.NOTICE("Starting pipeline..."))
            self.stdout.write(f"  Source: {source}")
            self.stdout.write(f"  Environment: {options['environment']}")
            self.stdout.write(f"  Definition: {definition.name}")
            self.stdout.write("")
        try:
            if options["run_async"]:
                result = self._run_async(orchestrator, run_args, options)
                if result is None:
                    return
            else:
                result = orchestrator.execute(**run_args)
        except DefinitionInvalidError as exc:
            raise CommandError(str(exc)) from exc

        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            self._display_result(result, definition, config_path)
        if result["status"] != "completed":
            raise CommandError(f"Pipeline {result['status']}: {result.get('error') or ''}")

    # --- inputs --------------------------------------------------------------------------

    def _get_definition(self, options: dict[str, Any]) -> tuple[PipelineDefinition, str | None]:
        if options["definition"]:
            name = options["definition"]
            definition = resolve_definition(name, active_only=False)
            if definition is None:
                raise CommandError(f"Pipeline definition not found: {name}")
            if not definition.is_active:
                raise CommandError(f"Pipeline definition is inactive: {name}")
            return definition, None
        if options["config"]:
            path = options["config"]
            try:
                config = json.loads(Path(path).read_text())
            except FileNotFoundError:
                raise CommandError(f"Config file not found: {path}") from None
            except json.JSONDecodeError as exc:
                raise CommandError(f"Invalid JSON in config file: {exc}") from None
            return PipelineDefinition(name=f"__adhoc__{path}", config=config), path
        if options["checks_only"]:
            return checks_only_definition(), None
        if options["sample"] or options["payload"] or options["file"]:
            definition = default_alert_definition(options["source"])
            if definition is None:
                raise CommandError("The configured default pipeline was not found or inactive")
            return definition, None
        raise CommandError(
            "Must specify --sample, --payload, --file, --checks-only, --definition, or --config"
        )

    def _get_payload(self, options: dict[str, Any]) -> Any:
        if options["payload"]:
            try:
                return json.loads(options["payload"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"Invalid JSON payload: {exc}") from None
        if options["file"]:
            try:
                return json.loads(Path(options["file"]).read_text())
            except FileNotFoundError:
                raise CommandError(f"Payload file not found: {options['file']}") from None
            except json.JSONDecodeError as exc:
                raise CommandError(f"Invalid JSON in payload file: {exc}") from None
        if options["sample"]:
            from apps.alerts.samples import get_sample_payload

            try:
                return get_sample_payload(options["source"])
            except KeyError as exc:
                raise CommandError(str(exc.args[0] if exc.args else exc)) from None
        return {}

    # --- async ---------------------------------------------------------------------------

    def _run_async(
        self, orchestrator: DefinitionBasedOrchestrator, run_args: dict, options: dict
    ) -> dict | None:
        if not broker_configured():
            raise CommandError("--async needs a broker: set CELERY_BROKER_URL")
        run = orchestrator.start(**run_args)
        if not options["json"]:
            self.stdout.write(f"Run ID: {run.run_id}")
            self.stdout.write(f"Trace ID: {run.trace_id}")
            self.stdout.write(f"Status URL: /orchestration/runs/{run.run_id}/")
        if not options["wait"]:
            if options["json"]:
                self.stdout.write(json.dumps(run_result(run), indent=2, default=str))
            return None
        return self._follow(run.run_id, options["timeout"])

    def _follow(self, run_id: str, timeout: float) -> dict:
        """Poll the run and report each node's progress on stderr as it changes."""
        seen: dict[str, str] = {}
        end = time.monotonic() + timeout
        while True:
            run = PipelineRun.objects.get(run_id=run_id)
            for ex in run.stage_executions.order_by("id"):
                key = f"{ex.node_id}#{ex.attempt}"
                if seen.get(key) != ex.status:
                    seen[key] = ex.status
                    where = f" on {ex.worker}" if ex.worker else ""
                    self.stderr.write(
                        f"  [{ex.node_type}] {ex.node_id} attempt {ex.attempt}: {ex.status}{where}"
                    )
            if run.is_finished:
                return run_result(run)
            if time.monotonic() > end:
                raise CommandError(f"Run {run_id} still {run.status} after {timeout:g}s")
            time.sleep(0.25)

    # --- retry ---------------------------------------------------------------------------

    def _retry(self, options: dict[str, Any]) -> None:
        from apps.orchestration.engine import control

        run_id = options["retry"]
        before = PipelineRun.objects.filter(run_id=run_id[:36]).first()
        if before is None:
            raise CommandError(f"Run not found: {run_id}")
        try:
            node = control.failed_node(before) if before.status == "failed" else None
            if node and not options["json"]:
                self.stdout.write(f"Retrying run {before.run_id} from node {node}")
                self.stdout.write(f"Status URL: /orchestration/runs/{before.run_id}/")
            run = control.retry_run(run_id)
        except control.RunStateError as exc:
            raise CommandError(str(exc)) from None
        run.refresh_from_db()
        if run.is_finished or options["wait"]:
            result = (
                run_result(run) if run.is_finished else self._follow(run_id, options["timeout"])
            )
        else:
            if options["json"]:
                self.stdout.write(json.dumps(run_result(run), indent=2, default=str))
            return
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            definition = PipelineDefinition(name=run.definition_name, config=run.config)
            self._display_result(result, definition, None)
        if result["status"] != "completed":
            raise CommandError(f"Pipeline {result['status']}: {result.get('error') or ''}")

    # --- output --------------------------------------------------------------------------

    def _show_dry_run(
        self,
        definition: PipelineDefinition,
        payload: Any,
        options: dict[str, Any],
        config_path: str | None,
    ) -> None:
        self.stdout.write(self.style.WARNING("=== DRY RUN ==="))
        self.stdout.write("")
        if config_path:
            self.stdout.write(f"Pipeline Config: {config_path}")
        else:
            self.stdout.write(f"Pipeline Definition: {definition.name}")
        self.stdout.write(f"Source: {options['source']}")
        self.stdout.write(f"Environment: {options['environment']}")
        self.stdout.write("")
        nodes = definition.get_nodes()
        self.stdout.write(f"Nodes ({len(nodes)}):")
        for i, node in enumerate(nodes, 1):
            self.stdout.write(f"  {i}. [{node.get('type', 'unknown')}] {node.get('id', i)}")
            if node.get("config"):
                self.stdout.write(f"     Config: {json.dumps(node['config'])}")
            next_node = node.get("next")
            if next_node is None and "next" not in node and i < len(nodes):
                next_node = nodes[i].get("id")
            if next_node:
                self.stdout.write(f"     → next: {next_node}")
            else:
                self.stdout.write("     → end")
            self.stdout.write("")
        errors = DefinitionBasedOrchestrator(definition).validate()
        if errors:
            self.stdout.write(self.style.ERROR("Pipeline definition invalid:"))
            for error in errors:
                self.stdout.write(self.style.ERROR(f"  - {error}"))
            self.stdout.write("")
        self.stdout.write("Payload:")
        self.stdout.write(json.dumps(payload, indent=2))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Use without --dry-run to execute"))

    def _display_result(
        self, result: dict, definition: PipelineDefinition, config_path: str | None
    ) -> None:
        from apps.orchestration.management.commands._result_display import display_result

        display_result(self, result, definition, config_path)
