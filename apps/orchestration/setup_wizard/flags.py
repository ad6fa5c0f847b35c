"""Non-interactive mode: every answer as a command-line flag (``--preset`` switches it on).

::

    manage.py setup_instance --preset full --alerts alertmanager,grafana --checkers cpu,memory \\
        --provider local --notify slack --slack-webhook-url env:SLACK_WEBHOOK_URL --yes

A secret flag's value may be ``env:NAME``: the value of the environment variable ``NAME``,
which keeps it out of the process list and the shell history. Answers are validated exactly
as the interactive questions validate them; every problem is reported at once.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings

from apps.orchestration.setup_wizard.channels import DRIVER_FIELDS, default_channel_name
from apps.orchestration.setup_wizard.pipeline import split_list
from apps.orchestration.setup_wizard.plan import API_KEY_SETTINGS
from apps.orchestration.setup_wizard.presets import PRESET_NAMES, get_preset
from apps.orchestration.setup_wizard.stages import DEFAULT_NETWORK_HOSTS

RERUN_ACTIONS = ("reconfigure", "add", "cancel")


class FlagError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def add_arguments(parser: ArgumentParser) -> None:
    group = parser.add_argument_group("non-interactive mode (--preset answers every question)")
    group.add_argument("--preset", choices=PRESET_NAMES, help="pipeline preset")
    group.add_argument("--alerts", metavar="SOURCE,...", help="alert sources (alert presets)")
    group.add_argument("--checkers", metavar="CHECKER,...", help="health checkers")
    group.add_argument("--disk-paths", metavar="P1,P2", help="disk checker paths (default /)")
    group.add_argument(
        "--network-hosts", metavar="H1,H2", help="network checker hosts (required with network)"
    )
    group.add_argument("--process-names", metavar="N1,N2", help="process checker names")
    group.add_argument("--every", metavar="DURATION", help="scheduled presets: e.g. 5m (default)")
    group.add_argument("--cron", metavar="EXPR", help="scheduled presets: e.g. '*/10 * * * *'")
    group.add_argument(
        "--notify-when",
        choices=("problems", "always"),
        default="problems",
        help="scheduled presets: notify only on problems (default) or after every run",
    )
    group.add_argument("--broker-url", help="CELERY_BROKER_URL to write (scheduled presets)")
    group.add_argument("--provider", help="intelligence provider (default local)")
    group.add_argument("--model", help="model for openai, claude or openai_compatible")
    group.add_argument("--api-key", help="API key for openai or claude (env:NAME reads NAME)")
    group.add_argument("--base-url", help="server URL for openai_compatible")
    group.add_argument("--notify", metavar="DRIVER,...", help="notification drivers to configure")
    group.add_argument(
        "--reuse-channels", metavar="NAME,...", help="existing active channels to notify"
    )
    group.add_argument(
        "--channel-name",
        action="append",
        default=[],
        metavar="DRIVER=NAME",
        help="name of the new channel of DRIVER (default ops-DRIVER; repeatable)",
    )
    for fields in DRIVER_FIELDS.values():
        for field in fields:
            hint = " (env:NAME reads NAME)" if field.secret else ""
            group.add_argument(field.flag, help=f"{field.prompt.strip()}{hint}")
    group.add_argument(
        "--on-existing",
        choices=RERUN_ACTIONS,
        help="when the wizard ran before: replace it, add another pipeline, or stop",
    )


def _value(options: dict[str, Any], flag: str) -> str | None:
    value = options.get(flag.lstrip("-").replace("-", "_"))
    if value is None:
        return None
    value = str(value)
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise FlagError([f"{flag} env:{name}: the environment variable {name} is not set"])
        return os.environ[name]
    return value


def config_from_options(options: dict[str, Any]) -> dict[str, Any]:
    """The wizard's answers from the flags; ``FlagError`` lists every missing or bad one."""
    from apps.alerts.drivers import DRIVER_REGISTRY as ALERT_SOURCES
    from apps.checkers.checkers import CHECKER_REGISTRY
    from apps.intelligence.providers import PROVIDERS
    from apps.notify.drivers import DRIVER_REGISTRY as NOTIFY_DRIVERS

    problems: list[str] = []
    preset = get_preset(options["preset"])
    config: dict[str, Any] = {"preset": preset}

    def names(flag: str, known: Any, *, required: bool) -> list[str]:
        items = split_list(options.get(flag.lstrip("-").replace("-", "_")) or "")
        unknown = [item for item in items if item not in known]
        if unknown:
            problems.append(f"{flag}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
        if required and not items:
            problems.append(f"{flag} is required with --preset {preset['name']}")
        return list(dict.fromkeys(i for i in items if i in known))

    if preset["has_alerts"]:
        config["alerts"] = names("--alerts", ALERT_SOURCES, required=True)
    if preset["has_checkers"]:
        enabled = names("--checkers", CHECKER_REGISTRY, required=True)
        checkers: dict[str, Any] = {"enabled": enabled}
        if "disk" in enabled:
            checkers["disk_paths"] = options.get("disk_paths") or "/"
        if "network" in enabled:
            # No silent default here: automation must say which hosts may be contacted.
            if not options.get("network_hosts"):
                problems.append(
                    f"--network-hosts is required with the network checker "
                    f"(e.g. {DEFAULT_NETWORK_HOSTS})"
                )
            checkers["network_hosts"] = options.get("network_hosts") or ""
        if "process" in enabled:
            if not options.get("process_names"):
                problems.append("--process-names is required with the process checker")
            checkers["process_names"] = options.get("process_names") or ""
        config["checkers"] = checkers
    if preset["standalone"]:
        if options.get("every") and options.get("cron"):
            problems.append("give --every or --cron, not both")
        schedule: dict[str, Any] = {"notify_when": options["notify_when"]}
        if options.get("cron"):
            schedule["cron"] = options["cron"]
        else:
            schedule["every"] = options.get("every") or "5m"
        if options.get("broker_url"):
            schedule["broker_url"] = options["broker_url"]
        config["schedule"] = schedule
    if preset["has_intelligence"]:
        provider = options.get("provider") or "local"
        if provider not in PROVIDERS:
            problems.append(f"--provider: unknown {provider} (known: {', '.join(PROVIDERS)})")
        intelligence: dict[str, Any] = {"provider": provider}
        for key in ("model", "base_url"):
            if options.get(key):
                intelligence[key] = options[key]
        try:
            api_key = _value(options, "--api-key")
        except FlagError as exc:
            problems += exc.problems
            api_key = None
        if api_key:
            intelligence["api_key"] = api_key
        elif provider in API_KEY_SETTINGS and not getattr(settings, API_KEY_SETTINGS[provider]):
            problems.append(
                f"--api-key is required with --provider {provider} "
                f"({API_KEY_SETTINGS[provider]} is not configured)"
            )
        config["intelligence"] = intelligence

    config["reuse_channels"] = split_list(options.get("reuse_channels") or "")
    drivers = names("--notify", NOTIFY_DRIVERS, required=False)
    config["notify"] = _channels(options, drivers, problems)
    if not config["notify"] and not config["reuse_channels"]:
        problems.append("--notify or --reuse-channels is required")
    if problems:
        raise FlagError(problems)
    return config


def _channels(options: dict[str, Any], drivers: list[str], problems: list[str]) -> list[dict]:
    custom: dict[str, str] = {}
    for item in options.get("channel_name") or []:
        driver, sep, name = item.partition("=")
        if not sep or not name.strip():
            problems.append(f"--channel-name {item!r}: expected DRIVER=NAME")
        else:
            custom[driver.strip()] = name.strip()
    channels = []
    for driver in drivers:
        config: dict[str, Any] = {}
        for field in DRIVER_FIELDS.get(driver, ()):
            if field.only_if and not config.get(field.only_if):
                continue
            try:
                value = _value(options, field.flag)
            except FlagError as exc:
                problems += exc.problems
                continue
            if value is None and field.default:
                value = field.default
            if value:
                config[field.key] = value
            elif field.required:
                problems.append(f"{field.flag} is required with --notify {driver}")
        channels.append(
            {
                "driver": driver,
                "name": custom.get(driver) or default_channel_name(driver),
                "config": config,
            }
        )
    return channels
