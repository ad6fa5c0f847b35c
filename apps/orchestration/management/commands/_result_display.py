"""Human-readable display of a run's result (the seed's ``PIPELINE RESULT`` layout)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.orchestration.models import PipelineDefinition


def _summary_lines(node_type: str, output: dict[str, Any], node: dict[str, Any]) -> list[str]:
    if node_type == "ingest":
        lines = [
            f"Incident ID: {output.get('incident_id', 'N/A')}",
            f"Alerts created: {output.get('alerts_created', 'N/A')}",
        ]
        noise = output.get("noise")
        if isinstance(noise, dict):  # docs/noise.md
            verdict = "notify" if noise.get("notify") else "no notification"
            lines.append(f"Noise: {noise.get('kind')} → {verdict}: {noise.get('reason')}")
        return lines
    if node_type == "context":
        lines = [f"Checks run: {output.get('checks_run', len(output.get('checks', [])))}"]
        for name, metrics in (output.get("system") or {}).items():
            if isinstance(metrics, dict) and "percent" in metrics:
                lines.append(f"{name}: {metrics['percent']}%")
        return lines
    if node_type == "intelligence":
        summary = str(output.get("summary", "N/A"))
        summary = summary[:100] + "..." if len(summary) > 100 else summary
        lines = [f"Summary: {summary}"]
        if output.get("provider"):
            lines.append(f"Provider: {output['provider']}")
        return lines
    if node_type == "notify":
        driver = (node.get("config") or {}).get("driver") or output.get("driver") or "any"

        def names(key: str) -> str:
            return ", ".join(output.get(key) or []) or "none"

        return [
            f"Driver: {driver}",
            f"Status: {output.get('status', 'N/A')}",
            f"Channels attempted: {names('channels_attempted')}",
            f"Succeeded: {names('channels_succeeded')}",
        ]
    if node_type == "condition":
        return [f"Matched: {output.get('matched')} → {output.get('next') or 'end'}"]
    if node_type == "transform":
        return [f"Transformed from: {output.get('source_node')}"]
    return []


def display_result(
    cmd: BaseCommand, result: dict, definition: PipelineDefinition, config_path: str | None
) -> None:
    out, style = cmd.stdout, cmd.style
    out.write("")
    out.write("=" * 60)
    out.write(style.HTTP_INFO("PIPELINE RESULT"))
    out.write("=" * 60)
    out.write("")
    status = result.get("status", "unknown")
    out.write((style.SUCCESS if status == "completed" else style.ERROR)(f"Status: {status}"))
    if config_path:
        out.write(f"Config: {config_path}")
    else:
        out.write(f"Definition: {result.get('definition', definition.name)}")
    out.write(f"Trace ID: {result.get('trace_id', 'N/A')}")
    out.write(f"Run ID: {result.get('run_id', 'N/A')}")
    out.write(f"Duration: {result.get('duration_ms') or 0:.2f}ms")
    out.write("")

    nodes = {n.get("id"): n for n in definition.get_nodes()}
    node_results = result.get("node_results", {})
    ran = list(node_results)
    for node_id in ran + [n for n in nodes if n not in node_results]:
        node = nodes.get(node_id, {})
        node_type = node.get("type", node_results.get(node_id, {}).get("node_type", "?"))
        out.write(f"--- {node_type} ({node_id}) ---")
        entry = node_results.get(node_id)
        if entry is None:
            out.write(style.WARNING("  (not executed)"))
        elif entry.get("skipped"):
            out.write(style.WARNING(f"  (skipped) {entry.get('skip_reason', '')}"))
        else:
            for line in _summary_lines(node_type, entry.get("output") or {}, node):
                out.write(f"  {line}")
            if entry.get("errors"):
                out.write(style.ERROR(f"  Errors: {entry['errors']}"))
            if entry.get("attempts", 1) > 1:
                out.write(f"  Attempts: {entry['attempts']}")
            out.write(f"  Duration: {entry.get('duration_ms') or 0:.2f}ms")
        out.write("")

    if status == "completed":
        out.write(style.SUCCESS("✓ Pipeline completed successfully"))
    else:
        out.write(style.ERROR(f"✗ Pipeline failed: {status}"))
        if result.get("error"):
            out.write(style.ERROR(f"  {result['error']}"))
