"""
Interactive setup wizard: pipeline preset, drivers per stage, credentials; then ``.env``
updates, a ``PipelineDefinition`` and ``NotificationChannel`` records (and a beat schedule for
the scheduled health-check presets), applied all-or-nothing; then an optional test run.

Usage:
    python manage.py setup_instance                       # asks everything
    python manage.py setup_instance --dry-run             # asks, shows, writes nothing
    python manage.py setup_instance --preset full --alerts alertmanager,grafana \\
        --checkers cpu,memory --provider local --notify slack \\
        --slack-webhook-url env:SLACK_WEBHOOK_URL --yes   # no questions

See docs/setup.md for every question and flag.
"""

from __future__ import annotations

import json
from argparse import BooleanOptionalAction
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard import envwriter, flags
from apps.orchestration.setup_wizard.apply import Applied, apply_plan
from apps.orchestration.setup_wizard.channels import WIZARD_MARK
from apps.orchestration.setup_wizard.existing import (
    TAG,
    channels_replaced_by_reconfigure,
    describe,
    detect_existing,
)
from apps.orchestration.setup_wizard.pipeline import build_pipeline_config
from apps.orchestration.setup_wizard.plan import Plan, PlanError, build_plan
from apps.orchestration.setup_wizard.prompts import WizardAborted, stdin_is_tty
from apps.orchestration.setup_wizard.stages import StagesMixin
from apps.orchestration.setup_wizard.summary import show_plan, show_summary
from apps.orchestration.setup_wizard.testrun import describe_test, run_test
from project.envfile import env_file_path

BANNER = (
    "\n╔══════════════════════════════════════════════════╗"
    "\n║     alertpipes — Instance Setup                  ║"
    "\n╚══════════════════════════════════════════════════╝"
)


class Command(StagesMixin, BaseCommand):
    help = (
        "Setup wizard: choose a pipeline preset and its drivers, enter credentials; writes "
        ".env, the pipeline definition and notification channels (all or nothing)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._existing: PipelineDefinition | None = None
        self._rerun_action: str | None = None
        self._reused_channels: list[str] = []
        self._applied = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--yes", action="store_true", help="apply without asking to confirm")
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be written; write nothing"
        )
        parser.add_argument(
            "--env-file",
            help="the .env file to update (default: the one the settings read, see DOTENV_PATH)",
        )
        parser.add_argument(
            "--test-run",
            action=BooleanOptionalAction,
            default=None,
            help="send a sample alert (or run the checks) through the new pipeline at the end "
            "(default: ask when stdin is a terminal)",
        )
        flags.add_arguments(parser)

    # --- the flow ---------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._run(options)
        except WizardAborted as exc:
            raise CommandError(f"Setup stopped: {exc}. Nothing was applied.") from None
        except KeyboardInterrupt:
            self.stdout.write("")
            if self._applied:
                raise CommandError(
                    "Interrupted after the configuration was applied.", returncode=130
                ) from None
            raise CommandError("Setup interrupted. Nothing was applied.", returncode=130) from None

    def _run(self, options: dict[str, Any]) -> None:
        env_path = self._env_path(options)
        self.stdout.write(self.style.HTTP_INFO(BANNER))
        existing = self._detect_existing()
        if existing is not None:
            action = self._rerun_choice(existing, options)
            if action == "cancel":
                self.stdout.write("Setup cancelled.")
                return
            self._existing, self._rerun_action = existing, action

        config = self._collect(options)
        try:
            plan = build_plan(
                config, action=self._rerun_action, existing=self._existing, env_path=env_path
            )
        except PlanError as exc:
            raise CommandError(
                "The configuration cannot be applied:\n  - " + "\n  - ".join(exc.problems)
            ) from None
        self._show_summary(config)
        show_plan(self, plan)
        if options["dry_run"]:
            self.stdout.write("\nPipeline config:")
            self.stdout.write(json.dumps(plan.pipeline_config, indent=2))
            self.stdout.write(self.style.WARNING("\nDry run: nothing was written."))
            return
        if not options["yes"] and not self._confirm_apply():
            self.stdout.write("Setup cancelled.")
            return

        try:
            applied = apply_plan(self, plan, config)
        except (DatabaseError, ValidationError, OSError, ValueError) as exc:
            # Rolled back (and the .env file left or put back as it was) by apply_plan.
            raise CommandError(f"Applying failed, nothing was applied: {_message(exc)}") from exc
        self._applied = True
        self._report(applied, plan, config)
        if applied.interrupted:
            raise KeyboardInterrupt
        self._offer_test(applied, plan, config, options)

    def _env_path(self, options: dict[str, Any]) -> Path:
        if options["env_file"]:
            return Path(options["env_file"]).expanduser().resolve()
        path = env_file_path()
        if path is None:
            raise CommandError(
                "No .env file to update: DOTENV_PATH is 'none' (or this runs under pytest); "
                "name one with --env-file"
            )
        return path

    def _rerun_choice(self, existing: PipelineDefinition, options: dict[str, Any]) -> str:
        self.stdout.write(self.style.HTTP_INFO("\n--- Existing setup ---"))
        for line in describe(existing):
            self.stdout.write(line)
        if options["preset"]:
            if not options["on_existing"]:
                raise CommandError(
                    f'A setup exists (pipeline "{existing.name}"): pass --on-existing '
                    "reconfigure, add or cancel"
                )
            return options["on_existing"]
        # The choice is applied with everything else, after the confirmation.
        return self._handle_rerun(existing, apply_now=False)

    def _collect(self, options: dict[str, Any]) -> dict[str, Any]:
        if options["preset"]:
            try:
                return flags.config_from_options(options)
            except flags.FlagError as exc:
                raise CommandError(
                    "Missing or invalid flags:\n  - " + "\n  - ".join(exc.problems)
                ) from None
        preset = self._select_preset()
        config: dict[str, Any] = {"preset": preset}
        if preset["has_alerts"]:
            config["alerts"] = self._configure_alerts()
        if preset["has_checkers"]:
            config["checkers"] = self._configure_checkers()
        if preset["standalone"]:
            config["schedule"] = self._configure_schedule()
        if preset["has_intelligence"]:
            config["intelligence"] = self._configure_intelligence()
        config["notify"] = self._configure_notify()
        config["reuse_channels"] = list(self._reused_channels)
        return config

    def _report(self, applied: Applied, plan: Plan, config: dict[str, Any]) -> None:
        ok = self.style.SUCCESS
        if applied.env_written:
            self.stdout.write(
                ok(f"✓ Updated {plan.env_path} with {len(plan.env_updates)} setting(s)")
            )
        for name in applied.retired:
            self.stdout.write(f'  Deactivated PipelineDefinition "{name}"')
        verb = "Updated" if plan.update_definition is not None else "Created"
        self.stdout.write(ok(f'✓ {verb} PipelineDefinition "{applied.definition.name}"'))
        for channel in applied.channels:
            self.stdout.write(
                ok(f'✓ Created NotificationChannel "{channel.name}" ({channel.driver})')
            )
        if applied.schedule is not None:
            schedule = applied.schedule
            self.stdout.write(ok(f'✓ Scheduled "{schedule.name}" ({schedule.when})'))
        self.stdout.write(ok("\n✓ Configuration complete!"))
        name = applied.definition.name
        lines = ["", "Next steps:", "  make up            # web, worker, beat and Flower"]
        if config["preset"]["has_alerts"]:
            lines.append(f"  python manage.py run_pipeline --definition {name} --sample")
            for source in config.get("alerts") or []:
                lines.append(f"  Point {source} at http://<this host>/alerts/webhook/{source}/")
        else:
            lines.append(f"  python manage.py run_pipeline --definition {name}")
        self.stdout.write("\n".join(lines))

    def _offer_test(
        self, applied: Applied, plan: Plan, config: dict[str, Any], options: dict[str, Any]
    ) -> None:
        wanted = options["test_run"]
        what = describe_test(applied.definition, config)
        if wanted is None:
            if not stdin_is_tty():
                self.stdout.write(f"  (setup_instance --test-run would send {what})")
                return
            wanted = self._prompt_yes_no(f"\n? Send {what} now?", default=True)
        if wanted and not run_test(self, applied.definition, config, plan.env_updates):
            raise CommandError(
                "The configuration was applied, but the test run did not reach every channel "
                "(see above)."
            )

    # --- the seed's steps ---------------------------------------------------------------------

    def _show_summary(self, config: dict[str, Any]) -> None:
        show_summary(self, config)

    def _confirm_apply(self) -> bool:
        return self._prompt_yes_no("\n? Apply this configuration?", default=True)

    def _write_env(self, env_path: str | Path, updates: dict[str, str]) -> None:
        """Update ``env_path`` atomically, keeping its other lines and comments."""
        envwriter.write(Path(env_path), updates)

    def _create_pipeline_definition(
        self,
        config: dict[str, Any],
        *,
        name: str | None = None,
        replace: PipelineDefinition | None = None,
    ) -> PipelineDefinition:
        """Save the definition the answers describe: a new row, or ``replace`` rewritten in
        place (reactivated; its version goes up because its config changes)."""
        preset = config["preset"]
        pipeline_config = config.get("pipeline_config") or build_pipeline_config(config)
        tags = config.get("tags") or [TAG, f"preset:{preset['name']}"]
        description = f"Pipeline created by setup_instance wizard ({preset['name']})"
        if replace is not None:
            replace.config = pipeline_config
            replace.tags = tags
            replace.description = description
            replace.is_active = True
            replace.save(author="setup_instance")
            return replace
        return PipelineDefinition.objects.create(
            name=name or preset["name"],
            description=description,
            config=pipeline_config,
            tags=tags,
            created_by="setup_instance",
        )

    def _create_notification_channels(
        self, channels_config: list[dict[str, Any]]
    ) -> list[NotificationChannel]:
        """Save each ``{"driver", "name", "config"}`` (``update_id``: rewrite that row). The
        model validates every config with its driver on save."""
        created = []
        for entry in channels_config:
            description = f"{WIZARD_MARK} {entry['driver']} channel"
            if entry.get("update_id"):
                channel = NotificationChannel.objects.get(pk=entry["update_id"])
                channel.driver, channel.config = entry["driver"], entry["config"]
                channel.description, channel.is_active = description, True
                channel.save()
            else:
                channel = NotificationChannel.objects.create(
                    name=entry["name"],
                    driver=entry["driver"],
                    config=entry["config"],
                    is_active=True,
                    description=description,
                )
            created.append(channel)
        return created

    def _detect_existing(self) -> PipelineDefinition | None:
        return detect_existing()

    def _handle_rerun(self, existing: PipelineDefinition, *, apply_now: bool = True) -> str:
        """``reconfigure``, ``add`` or ``cancel``. With ``apply_now`` (the seed's behaviour)
        "reconfigure" retires the existing pipeline and its wizard channels at once; the
        wizard itself passes False and retires them in the same transaction as the rest."""
        action = self._prompt_choice(
            f'? Existing pipeline "{existing.name}" found. What would you like to do?',
            [
                ("reconfigure", "Reconfigure — Replace existing pipeline and channels"),
                ("add", "Add another — Create additional pipeline alongside existing"),
                ("cancel", "Cancel"),
            ],
        )
        if action == "reconfigure" and apply_now:
            with transaction.atomic():
                retired = [c.pk for c in channels_replaced_by_reconfigure(existing)]
                NotificationChannel.objects.filter(pk__in=retired).update(is_active=False)
                existing.is_active = False
                existing.save(update_fields=["is_active", "updated_at"])
        return action


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)
