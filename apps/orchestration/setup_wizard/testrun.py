"""The wizard's closing test: one sample alert (or one health check) through the new pipeline,
in this process, shown node by node with each channel's answer.

A scheduled-checks pipeline that notifies only on problems sends nothing when every check is
fine; the test then sends a test message to each of its channels directly, so the operator
still learns whether every channel accepts messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.test.utils import override_settings

from apps.alerts.samples import get_sample_payload
from apps.notify.drivers import get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import NotificationMessage
from apps.notify.models import NotificationChannel
from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
from apps.orchestration.errors import DefinitionInvalidError
from apps.orchestration.management.commands._result_display import display_result
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard.pipeline import channels_of, split_list

TEST_ENVIRONMENT = "setup-test"
# Settings the test run must see as just written to .env (this process read its settings
# before the wizard wrote the file), and how each is parsed.
LIVE_SETTINGS = {
    "OPENAI_API_KEY": str,
    "ANTHROPIC_API_KEY": str,
    "CHECKERS_SKIP": split_list,
}


def live_settings(env_updates: Mapping[str, str]) -> dict[str, Any]:
    return {
        key: parse(env_updates[key]) for key, parse in LIVE_SETTINGS.items() if key in env_updates
    }


def describe_test(definition: PipelineDefinition, config: dict[str, Any]) -> str:
    if config["preset"].get("has_alerts", True):
        source = (config.get("alerts") or ["alertmanager"])[0]
        return f'a sample {source} alert through "{definition.name}"'
    return f'one health check through "{definition.name}"'


def run_test(
    command: Any,
    definition: PipelineDefinition,
    config: dict[str, Any],
    env_updates: Mapping[str, str] | None = None,
) -> bool:
    """Run the test and report it; True when the run completed and every channel accepted.

    ``env_updates`` (what the wizard just wrote to .env) are in effect during the run only.
    """
    with override_settings(**live_settings(env_updates or {})):
        return _run_test(command, definition, config)


def _run_test(command: Any, definition: PipelineDefinition, config: dict[str, Any]) -> bool:
    out, style = command.stdout, command.style
    if config["preset"].get("has_alerts", True):
        source = (config.get("alerts") or ["alertmanager"])[0]
        payload: dict[str, Any] = get_sample_payload(source)
    else:
        source, payload = "setup_instance", {}
    out.write(style.HTTP_INFO(f"\n--- Test: {describe_test(definition, config)} ---"))
    try:
        result = DefinitionBasedOrchestrator(definition).execute(
            payload=payload, source=source, environment=TEST_ENVIRONMENT
        )
    except DefinitionInvalidError as exc:
        out.write(style.ERROR(f"✗ The pipeline cannot run: {exc}"))
        return False
    display_result(command, result, definition, None)

    notify = next(
        (
            entry
            for node_id, entry in result["node_results"].items()
            if _node_type(definition, node_id) == "notify"
        ),
        None,
    )
    if notify is None:
        out.write("Nothing to notify about in this run (the checks found no problem), so each")
        out.write("channel gets a test message directly:")
        accepted = _send_directly(command, channels_of(definition.config))
    else:
        deliveries = (notify.get("output") or {}).get("deliveries") or []
        accepted = _report_deliveries(command, deliveries)
    return result["status"] == "completed" and accepted


def _node_type(definition: PipelineDefinition, node_id: str) -> str | None:
    for node in definition.get_nodes():
        if node.get("id") == node_id:
            return node.get("type")
    return None


def _report_deliveries(command: Any, deliveries: list[dict[str, Any]]) -> bool:
    out, style = command.stdout, command.style
    if not deliveries:
        out.write(style.WARNING("✗ No channel was notified."))
        return False
    ok = True
    for delivery in deliveries:
        label = f"{delivery['channel']} ({delivery['driver']})"
        if delivery["status"] in ("sent", "already_sent"):
            out.write(style.SUCCESS(f"✓ {label}: accepted the message"))
        else:
            ok = False
            out.write(style.ERROR(f"✗ {label}: {delivery.get('error') or delivery['status']}"))
    return ok


def _send_directly(command: Any, names: list[str]) -> bool:
    out, style = command.stdout, command.style
    message = NotificationMessage(
        title="Test notification from the alertpipes setup wizard",
        message="If you can read this, the channel is configured correctly.",
        tags={"test": "true"},
        context={"source": "setup_instance", "environment": TEST_ENVIRONMENT},
        dedup_key="alertpipes-setup-test",
    )
    channels = {c.name: c for c in NotificationChannel.objects.filter(name__in=names)}
    ok = bool(names)
    for name in names:
        channel = channels.get(name)
        if channel is None:
            out.write(style.ERROR(f"✗ {name}: no such channel"))
            ok = False
            continue
        label = f"{name} ({channel.driver})"
        try:
            get_driver(channel.driver).send(message, channel.config)
        except (NotifyConfigError, NotifyError) as exc:
            out.write(style.ERROR(f"✗ {label}: {exc}"))
            ok = False
        else:
            out.write(style.SUCCESS(f"✓ {label}: accepted the message"))
    return ok
