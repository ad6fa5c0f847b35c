"""Create a REST API key (stored hashed; the key is printed once), list or revoke keys.

Usage:
    python manage.py create_api_key --name ci-bot --scope read|write|admin
    python manage.py create_api_key --list
    python manage.py create_api_key --revoke <prefix>
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.orchestration.apikeys import SCOPES, ApiKey


class Command(BaseCommand):
    help = "Create an API key (shown once), or --list / --revoke stored keys"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="Who or what uses the key (e.g. grafana, ci-bot)")
        parser.add_argument(
            "--scope", choices=SCOPES, default="read", help="read, write or admin (default read)"
        )
        parser.add_argument("--list", action="store_true", help="List stored keys")
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the key with this prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for key in ApiKey.objects.order_by("created_at"):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                self.stdout.write(
                    f"{key.prefix}  {key.scope:<5}  {state:<18}  last used {used:<16}  {key.name}"
                )
            return
        if options["revoke"]:
            updated = ApiKey.objects.filter(
                prefix=options["revoke"], revoked_at__isnull=True
            ).update(revoked_at=timezone.now())
            if not updated:
                raise CommandError(f"No active key with prefix {options['revoke']!r}")
            self.stdout.write(self.style.SUCCESS(f"Revoked key {options['revoke']}"))
            return
        name = (options["name"] or "").strip()
        if not name or len(name) > 100:
            raise CommandError("--name is required (at most 100 characters)")
        row, key = ApiKey.create_key(name, options["scope"])
        self.stdout.write(self.style.SUCCESS(f"Created {row.scope} key {row.prefix} for {name}"))
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(key)
