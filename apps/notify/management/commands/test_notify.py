"""Send a test notification through a stored channel or a driver with inline config."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.notify.dispatch import TEST_MESSAGE, TEST_TITLE, send_test_message
from apps.notify.drivers import DRIVER_REGISTRY
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.message import SEVERITIES
from apps.notify.models import NotificationChannel


class Command(BaseCommand):
    help = (
        "Send a test notification to a channel (by name) or a driver (with --config JSON). "
        "Exits non-zero when sending fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="A channel name, or a driver name with --config.")
        parser.add_argument("--config", help="Driver config as JSON (driver targets only).")
        parser.add_argument("--title", default=TEST_TITLE)
        parser.add_argument(
            "--message",
            default=TEST_MESSAGE,
        )
        parser.add_argument("--severity", default="info", choices=SEVERITIES)

    def handle(self, *args: Any, **options: Any) -> None:
        target: str = options["target"]
        channel = NotificationChannel.objects.filter(name=target).first()
        if channel is not None:
            if options["config"]:
                raise CommandError("--config is only for driver names, not stored channels")
            if not channel.is_active:
                self.stderr.write(f"Note: channel {target!r} is inactive; sending anyway.")
            driver_name, config, label = channel.driver, channel.config, f"channel {target!r}"
        elif target in DRIVER_REGISTRY:
            if not options["config"]:
                raise CommandError(f"driver {target!r} needs --config '<JSON object>'")
            try:
                config = json.loads(options["config"])
            except ValueError as exc:
                raise CommandError(f"--config is not valid JSON: {exc}") from exc
            driver_name, label = target, f"driver {target!r}"
        else:
            raise CommandError(
                f"{target!r} is neither a channel nor a driver. "
                f"Drivers: {', '.join(DRIVER_REGISTRY)}"
            )

        try:
            result = send_test_message(
                driver_name,
                config,
                source="test_notify",
                title=options["title"],
                message=options["message"],
                severity=options["severity"],
            )
        except NotifyConfigError as exc:
            raise CommandError(f"Invalid {driver_name} config: {exc}") from exc
        except NotifyError as exc:
            kind = "temporary" if exc.retryable else "permanent"
            raise CommandError(f"Sending to {label} failed ({kind}): {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"✓ Test notification sent to {label}"))
        if result.summary:
            self.stdout.write(json.dumps(result.summary, default=str))
