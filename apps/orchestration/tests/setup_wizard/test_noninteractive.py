"""Non-interactive mode (``--preset`` and flags) and ``--dry-run``."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard.envwriter import read_values
from apps.orchestration.tests.setup_wizard.support import SECRET_URL_PATH

pytestmark = pytest.mark.django_db


def setup(*args: str) -> str:
    out = StringIO()
    call_command("setup_instance", *args, stdout=out)
    return out.getvalue()


def test_the_issue_example_applies_without_a_single_question(
    monkeypatch, env_file: Path, hook_server
) -> None:
    monkeypatch.setenv("SLACK_URL_FOR_TEST", f"{hook_server.url}{SECRET_URL_PATH}")
    out = setup(
        "--preset", "full", "--alerts", "alertmanager,grafana", "--checkers", "cpu,memory",
        "--provider", "local", "--notify", "slack",
        "--slack-webhook-url", "env:SLACK_URL_FOR_TEST", "--yes", "--test-run",
    )  # fmt: skip

    definition = PipelineDefinition.objects.get(name="full")
    assert [n["type"] for n in definition.get_nodes()] == [
        "ingest",
        "context",
        "intelligence",
        "notify",
    ]
    assert NotificationChannel.objects.get(name="ops-slack").config == {
        "webhook_url": f"{hook_server.url}{SECRET_URL_PATH}"
    }
    assert read_values(env_file)["ALERTS_SOURCE_PIPELINES"] == "alertmanager=full,grafana=full"
    assert "? " not in out  # nothing was asked
    assert SECRET_URL_PATH not in out
    assert "✓ ops-slack (slack): accepted the message" in out


def test_every_missing_flag_is_reported_at_once() -> None:
    with pytest.raises(CommandError) as error:
        setup("--preset", "full", "--checkers", "cpu,network,gpu", "--yes")
    message = str(error.value)
    assert "--alerts is required with --preset full" in message
    assert "--checkers: unknown gpu" in message
    assert "--network-hosts is required with the network checker" in message
    assert "--notify or --reuse-channels is required" in message
    assert PipelineDefinition.objects.count() == 0


def test_driver_flags_are_checked_by_the_driver_before_anything_is_saved(env_file: Path) -> None:
    with pytest.raises(CommandError) as error:
        setup(
            "--preset", "direct", "--alerts", "generic", "--notify", "email,pagerduty,generic",
            "--email-smtp-host", "smtp.example.com", "--email-from", "not-an-address",
            "--email-to", "ops@example.com", "--pagerduty-routing-key", "has space",
            "--webhook-url", "ftp://example.com", "--yes",
        )  # fmt: skip
    message = str(error.value)
    assert "smtp_from: 'not-an-address' is not an email address" in message
    assert "routing_key must not contain whitespace" in message
    assert "endpoint_url must be an http:// or https:// URL" in message
    assert NotificationChannel.objects.count() == 0
    assert not env_file.exists()


def test_a_secret_flag_naming_a_missing_variable_is_an_error(monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(CommandError, match="the environment variable NOT_SET_ANYWHERE is not set"):
        setup(
            "--preset", "direct", "--alerts", "generic", "--notify", "slack",
            "--slack-webhook-url", "env:NOT_SET_ANYWHERE", "--yes",
        )  # fmt: skip


def test_dry_run_shows_the_plan_and_writes_nothing(env_file: Path) -> None:
    out = setup(
        "--preset", "scheduled-checks", "--checkers", "disk", "--disk-paths", "/,/var",
        "--every", "90s", "--notify", "pagerduty", "--pagerduty-routing-key", "R0UT1NGKEY",
        "--broker-url", "redis://:hunter2@127.0.0.1:6379/0", "--dry-run",
    )  # fmt: skip

    assert "Dry run: nothing was written." in out
    assert '"checker_options": {' in out
    assert "Schedule: every 1m30s (celery beat)" in out
    assert "CELERY_BROKER_URL=redis://:****@127.0.0.1:6379/0" in out
    assert "hunter2" not in out and "R0UT1NGKEY" not in out
    assert PipelineDefinition.objects.count() == 0
    assert NotificationChannel.objects.count() == 0
    assert PeriodicTask.objects.count() == 0
    assert not env_file.exists()


def test_a_rerun_without_on_existing_stops_and_with_add_creates_another_pipeline(
    env_file: Path,
) -> None:
    args = ["--preset", "direct", "--alerts", "grafana", "--notify", "pagerduty"]
    setup(*args, "--pagerduty-routing-key", "KEY1", "--yes")
    with pytest.raises(CommandError, match="pass --on-existing reconfigure, add or cancel"):
        setup(*args, "--pagerduty-routing-key", "KEY2", "--yes")

    out = setup(
        *args, "--pagerduty-routing-key", "KEY2", "--channel-name", "pagerduty=oncall-2",
        "--on-existing", "add", "--yes",
    )  # fmt: skip
    assert '✓ Created PipelineDefinition "direct-2"' in out
    assert PipelineDefinition.objects.get(name="direct").is_active
    assert read_values(env_file)["ALERTS_SOURCE_PIPELINES"] == "grafana=direct-2"
    assert sorted(NotificationChannel.objects.values_list("name", flat=True)) == [
        "oncall-2",
        "ops-pagerduty",
    ]


def test_an_ai_provider_without_a_key_anywhere_needs_api_key() -> None:
    with pytest.raises(CommandError, match="--api-key is required with --provider openai"):
        setup(
            "--preset", "ai-analyzed", "--alerts", "generic", "--provider", "openai",
            "--notify", "pagerduty", "--pagerduty-routing-key", "KEY", "--yes",
        )  # fmt: skip
