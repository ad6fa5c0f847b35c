"""The wizard's questions, stage by stage (the seed's ``_select_preset`` and ``_configure_*``).

Choices are numbered from the registries in their seed order. Every answer is checked where it
is given (checker options by the checker, provider settings by the intelligence node, channel
configs by the driver), and asked again when it is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from apps.orchestration.setup_wizard.channels import (
    WIZARD_MARK,
    collect_config,
    config_problems,
    default_channel_name,
    driver_options,
    name_problem,
)
from apps.orchestration.setup_wizard.existing import (
    active_channels,
    channels_replaced_by_reconfigure,
)
from apps.orchestration.setup_wizard.presets import PRESETS, Preset
from apps.orchestration.setup_wizard.prompts import PromptMixin

if TYPE_CHECKING:
    from apps.notify.models import NotificationChannel
    from apps.orchestration.models import PipelineDefinition

DEFAULT_NETWORK_HOSTS = "8.8.8.8,1.1.1.1"  # proposed (the seed's), used only if accepted
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_EVERY = "5m"
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434/v1"
NONE = "__none__"

# (answer key, checker, prompt, default, required), asked for each enabled checker.
CHECKER_QUESTIONS = (
    ("disk_paths", "disk", "  Disk paths to monitor", "/", False),
    ("network_hosts", "network", "  Hosts to ping", DEFAULT_NETWORK_HOSTS, False),
    ("process_names", "process", "  Process names to watch", None, True),
)
CHECKER_OPTION = {"disk": "paths", "network": "hosts", "process": "names"}


class StagesMixin(PromptMixin):
    # Set by the command before the questions: what a re-run found and chose.
    _existing: PipelineDefinition | None = None
    _rerun_action: str | None = None
    _reused_channels: list[str]

    def _stage(self, title: str) -> None:
        self.stdout.write(self.style.HTTP_INFO(f"\n--- Stage: {title} ---"))

    def _warn(self, text: str) -> None:
        self.stdout.write(self.style.WARNING(text))

    def _select_preset(self) -> Preset:
        options = [(preset, f"{preset['label']}  ({preset['description']})") for preset in PRESETS]
        return self._prompt_choice("? How will you use this instance?", options)

    def _configure_alerts(self) -> list[str]:
        from apps.alerts.drivers import DRIVER_REGISTRY

        self._stage("Alerts")
        options = [(name, name) for name in DRIVER_REGISTRY]
        return self._prompt_multi("? Which alert drivers do you want to enable?", options)

    def _configure_checkers(self) -> dict[str, Any]:
        """``{"enabled": [...]}`` plus ``disk_paths``, ``network_hosts``, ``process_names`` as
        comma-separated answers for the checkers that take them."""
        from apps.checkers.checkers import CHECKER_REGISTRY, CheckerConfigError

        self._stage("Checkers")
        options = [(name, f"{name} — {cls.description}") for name, cls in CHECKER_REGISTRY.items()]
        selected = self._prompt_multi("? Which health checkers do you want to enable?", options)
        result: dict[str, Any] = {"enabled": selected}
        for key, checker, prompt, default, required in CHECKER_QUESTIONS:
            if checker not in selected:
                continue
            while True:
                answer = self._prompt_input(prompt, default=default, required=required)
                try:
                    CHECKER_REGISTRY[checker].validate({CHECKER_OPTION[checker]: answer})
                except CheckerConfigError as exc:
                    self._warn(f"  {exc}")
                    continue
                result[key] = answer
                break
        return result

    def _configure_schedule(self) -> dict[str, Any]:
        """How often a standalone health-check pipeline runs, and when it notifies."""
        from apps.orchestration import schedules

        self._stage("Schedule")
        result: dict[str, Any] = {}
        while True:
            answer = self._prompt_input(
                "? How often should the checks run? (30s, 5m, 1h, or cron like '*/10 * * * *')",
                default=DEFAULT_EVERY,
            )
            try:
                if len(answer.split()) == 5:
                    result["cron"] = " ".join(schedules.parse_cron(answer))
                else:
                    result["every"] = schedules.format_every(schedules.parse_every(answer))
                break
            except schedules.ScheduleError as exc:
                self._warn(f"  {exc}")
        result["notify_when"] = self._prompt_choice(
            "? When should it notify?",
            [
                ("problems", "Only when a check is warning, critical or unknown"),
                ("always", "After every run, even when everything is ok"),
            ],
        )
        if not settings.CELERY_BROKER_URL:
            broker = self._prompt_input(
                "  Celery broker URL (schedules need it, with beat and a worker; "
                "'none' to set it later)",
                default=DEFAULT_BROKER_URL,
            )
            if broker.lower() != "none":
                result["broker_url"] = broker
        return result

    def _configure_intelligence(self) -> dict[str, Any]:
        """``{"provider": ...}`` plus ``api_key``, ``model``, ``base_url`` where it needs them."""
        from apps.intelligence.providers import PROVIDERS
        from apps.orchestration.nodes.intelligence import IntelligenceNodeHandler
        from apps.orchestration.setup_wizard.pipeline import intelligence_node_config

        self._stage("Intelligence")
        options = [(name, f"{name} — {cls.description}") for name, cls in PROVIDERS.items()]
        provider = self._prompt_choice("? Which AI provider do you want to use?", options)
        while True:
            result = self._provider_answers(provider)
            problems = IntelligenceNodeHandler().validate_config(intelligence_node_config(result))
            if not problems:
                return result
            for problem in problems:
                self._warn(f"  {problem}")

    def _provider_answers(self, provider: str) -> dict[str, Any]:
        from apps.intelligence.providers.claude import DEFAULT_CLAUDE_MODEL

        ask = self._prompt_input
        result: dict[str, Any] = {"provider": provider}
        if provider in ("openai", "claude"):
            vendor, configured = (
                ("OpenAI", settings.OPENAI_API_KEY)
                if provider == "openai"
                else ("Anthropic", settings.ANTHROPIC_API_KEY)
            )
            prompt = f"  {vendor} API key"
            if configured:
                prompt += " (Enter keeps the one already configured)"
            key = ask(prompt, required=not configured, secret=True)
            if key:
                result["api_key"] = key
        if provider == "openai":
            result["model"] = ask("  OpenAI model", default=settings.OPENAI_MODEL or "gpt-4o-mini")
        elif provider == "claude":
            result["model"] = ask("  Claude model", default=DEFAULT_CLAUDE_MODEL)
        elif provider == "openai_compatible":
            result["base_url"] = ask(
                "  Server URL (OpenAI-compatible API)",
                default=settings.OPENAI_BASE_URL or DEFAULT_OLLAMA_URL,
            )
            result["model"] = ask("  Model", required=True)
        return result

    def _configure_notify(self) -> list[dict[str, Any]]:
        """New channels as ``{"driver", "name", "config"}``. Existing active channels can be
        reused instead (recorded in ``self._reused_channels``), keeping their secrets."""
        self._stage("Notify")
        reusable = active_channels()
        self._reused_channels = self._ask_reuse(reusable) if reusable else []
        if self._reused_channels and not self._prompt_yes_no(
            "? Configure new channels as well?", default=False
        ):
            return []
        taken = self._taken_channel_names(reusable) | set(self._reused_channels)
        selected = self._prompt_multi(
            "? Which notification channels do you want to configure?", driver_options()
        )
        channels = []
        for driver in selected:
            self.stdout.write(f"\n  Configuring {driver}:")
            while True:
                config = collect_config(self, driver)
                problems = config_problems(driver, config)
                if not problems:
                    break
                for problem in problems:
                    self._warn(f"    ✗ {problem}")
                self._warn(f"    Please enter the {driver} settings again.")
            while True:
                name = self._prompt_input("    Channel name", default=default_channel_name(driver))
                problem = name_problem(name, taken)
                if problem is None:
                    break
                self._warn(f"    {problem}; choose another name")
            taken.add(name)
            channels.append({"driver": driver, "name": name, "config": config})
        return channels

    def _ask_reuse(self, reusable: list[NotificationChannel]) -> list[str]:
        options = [(c.name, f"{c.name} ({c.driver})") for c in reusable]
        options.append((NONE, "None — configure new channels"))
        picked = self._prompt_multi(
            "? Reuse existing notification channels? (their settings and secrets stay as they are)",
            options,
        )
        return [name for name in picked if name != NONE]

    def _taken_channel_names(self, active: list[NotificationChannel]) -> set[str]:
        """Names a new channel cannot have: active channels that this run does not retire
        and inactive channels that are not the wizard's own (those are rewritten)."""
        from apps.notify.models import NotificationChannel

        retired: set[str] = set()
        if self._rerun_action == "reconfigure" and self._existing is not None:
            retired = {c.name for c in channels_replaced_by_reconfigure(self._existing)}
        inactive_foreign = NotificationChannel.objects.filter(is_active=False).exclude(
            description__startswith=WIZARD_MARK
        )
        return {c.name for c in active if c.name not in retired} | set(
            inactive_foreign.values_list("name", flat=True)
        )
