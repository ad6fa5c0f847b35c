"""Recommendations for an incident, or for this host when no incident is given."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.intelligence.context import AnalysisContext, load_incident
from apps.intelligence.errors import ProviderError
from apps.intelligence.providers import PROVIDERS, get_provider


class Command(BaseCommand):
    help = "Analyse an incident (or this host, without one) and print recommendations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", nargs="?", type=int, help="Incident id to analyse")
        parser.add_argument("--incident-id", type=int, dest="incident_id", help="Incident id")
        parser.add_argument(
            "--provider", default="local", help=f"One of {', '.join(PROVIDERS)} (default local)"
        )
        parser.add_argument("--model", help="Model for AI providers")
        parser.add_argument("--timeout", type=float, help="Seconds to wait for an AI provider")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        incident_id = options["incident_id"] or options["incident"]
        if options["incident_id"] and options["incident"] and incident_id != options["incident"]:
            raise CommandError("Give the incident id once (positional or --incident-id)")
        config = {k: options[k] for k in ("model", "timeout") if options[k] is not None}
        try:
            provider = get_provider(options["provider"], **config)
        except ProviderError as exc:
            raise CommandError(exc.message) from exc
        incident = None
        if incident_id is not None:
            incident = load_incident(incident_id)
            if incident is None:
                raise CommandError(f"Incident {incident_id} not found")
        try:
            analysis = provider.analyze(incident, AnalysisContext())
        except ProviderError as exc:
            raise CommandError(f"Provider {options['provider']} failed: {exc.message}") from exc
        output = analysis.to_dict()
        output["incident_id"] = incident_id
        if options["json"]:
            self.stdout.write(json.dumps(output, indent=2, default=str))
            return
        self._print(output, incident)

    def _print(self, output: dict[str, Any], incident: dict[str, Any] | None) -> None:
        provider = output["provider"]
        if output["fallback_used"]:
            provider += f" (fell back to local: {output['fallback_reason']})"
        self.stdout.write(f"Provider: {provider}")
        if incident:
            self.stdout.write(
                f"Incident: #{incident.get('id')} {incident.get('title', '')} "
                f"[{incident.get('severity', 'unknown')}, {incident.get('status', 'unknown')}]"
            )
        else:
            self.stdout.write("Incident: none (system scan)")
        recs = output["recommendations"]
        if not recs:
            self.stdout.write(self.style.SUCCESS("No issues found."))
            return
        self.stdout.write(f"Recommendations ({len(recs)}):")
        for number, rec in enumerate(recs, 1):
            label = f"[{rec['priority'].upper()}]"
            style = (
                self.style.ERROR if rec["priority"] in ("critical", "high") else self.style.WARNING
            )
            self.stdout.write(f"\n{number}. {style(label)} {rec['title']}")
            if rec["description"]:
                self.stdout.write(f"   {rec['description']}")
            for process in rec["details"].get("top_processes", [])[:5]:
                self.stdout.write(
                    f"   - pid {process.get('pid')} {process.get('name')}: "
                    f"cpu {process.get('cpu_percent', '-')}% mem {process.get('memory_percent')}%"
                )
            if rec["actions"]:
                self.stdout.write("   Actions:")
                for action in rec["actions"]:
                    self.stdout.write(f"     * {action}")
