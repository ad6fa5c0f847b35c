"""Running the wizard again: what exists is shown, channels can be reused, and reconfigure,
add another or cancel do what they say, applied with everything else after the confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard.envwriter import read_values
from apps.orchestration.tests.setup_wizard.support import run_wizard

pytestmark = pytest.mark.django_db

SLACK = "https://hooks.slack.com/services/T0/B0/X"


def first_setup(monkeypatch) -> None:
    run_wizard(
        monkeypatch,
        ["4", "1,2", "1,2", "1", "2", SLACK, "ops-alerts", "y"],
    )


def test_a_rerun_shows_what_exists_and_reconfigure_rewrites_it_reusing_its_channel(
    monkeypatch, env_file: Path
) -> None:
    first_setup(monkeypatch)
    env_file.write_text("# kept\n" + env_file.read_text())
    out = run_wizard(
        monkeypatch,
        [
            "1",  # reconfigure
            "4",  # full again
            "1",  # alertmanager only
            "3",  # disk
            "/",
            "1",  # local
            "1",  # reuse ops-alerts
            "n",  # no new channel
            "y",
        ],
    )

    assert '  Pipeline: "full" (v1), created ' in out
    assert (
        "  Nodes: ingest_webhook (ingest) → check_health (context) → "
        "analyze_incident (intelligence) → notify_channels (notify)"
    ) in out
    assert "  Checkers: cpu, memory" in out
    assert "  Provider: local" in out
    assert "  Channels: ops-alerts (slack, active)" in out
    assert "1) ops-alerts (slack)" in out

    definition = PipelineDefinition.objects.get(name="full")
    assert (definition.version, definition.is_active) == (2, True)
    context = next(n for n in definition.get_nodes() if n["type"] == "context")
    assert context["config"]["checker_names"] == ["disk"]
    assert NotificationChannel.objects.get(name="ops-alerts").is_active  # reused, kept
    values = read_values(env_file)
    assert values["ALERTS_SOURCE_PIPELINES"] == "alertmanager=full"
    assert values["CHECKERS_SKIP"] == "cpu,memory,load,swap,inodes,network,process"
    assert env_file.read_text().startswith("# kept\n")
    assert PipelineDefinition.objects.count() == 1


def test_reconfigure_to_another_preset_retires_the_old_pipeline_and_its_channels(
    monkeypatch, env_file: Path
) -> None:
    first_setup(monkeypatch)
    out = run_wizard(
        monkeypatch,
        [
            "1",  # reconfigure
            "5",  # scheduled-checks
            "2",  # memory
            "5m",
            "1",
            "none",
            "2",  # reuse: none
            "3",  # pagerduty
            "R0UTING",
            "",
            "y",
        ],
    )

    assert not PipelineDefinition.objects.get(name="full").is_active
    assert PipelineDefinition.objects.get(name="scheduled-checks").is_active
    assert not NotificationChannel.objects.get(name="ops-alerts").is_active
    assert NotificationChannel.objects.get(name="ops-pagerduty").is_active
    # Webhooks of the sources the retired pipeline served fall back to the built-in one
    # instead of naming an inactive definition.
    assert read_values(env_file)["ALERTS_SOURCE_PIPELINES"] == ""
    assert "Deactivated PipelineDefinition" in out
    assert PeriodicTask.objects.filter(name="scheduled-checks every 5m").exists()


def test_reconfigure_rewrites_a_retired_channel_of_the_same_name(monkeypatch) -> None:
    first_setup(monkeypatch)
    run_wizard(
        monkeypatch,
        ["1", "1", "2", "2", "2", "https://hooks.slack.com/services/NEW", "ops-alerts", "y"],
    )
    channel = NotificationChannel.objects.get(name="ops-alerts")
    assert channel.is_active
    assert channel.config == {"webhook_url": "https://hooks.slack.com/services/NEW"}
    assert NotificationChannel.objects.count() == 1


def test_add_another_keeps_the_existing_pipeline_and_refuses_a_taken_channel_name(
    monkeypatch,
) -> None:
    first_setup(monkeypatch)
    out = run_wizard(
        monkeypatch,
        [
            "2",  # add another
            "4",
            "8",  # generic
            "1",  # cpu
            "1",
            "2",  # reuse: none
            "2",  # slack
            SLACK,
            "ops-alerts",  # taken by the first pipeline's channel
            "ops-alerts-2",
            "y",
        ],
    )
    assert "a notification channel named 'ops-alerts' already exists; choose another name" in out
    assert PipelineDefinition.objects.get(name="full").is_active
    assert PipelineDefinition.objects.get(name="full-2").is_active
    assert NotificationChannel.objects.filter(is_active=True).count() == 2


def test_cancel_changes_nothing(monkeypatch, env_file: Path) -> None:
    first_setup(monkeypatch)
    before = env_file.read_text()
    out = run_wizard(monkeypatch, ["3"])
    assert out.rstrip().endswith("Setup cancelled.")
    assert env_file.read_text() == before
    assert PipelineDefinition.objects.get(name="full").is_active


def test_answering_no_at_the_confirmation_leaves_a_reconfigure_unapplied(monkeypatch) -> None:
    first_setup(monkeypatch)
    run_wizard(monkeypatch, ["1", "1", "2", "2", "2", SLACK, "new-name", "n"])
    assert PipelineDefinition.objects.get(name="full").is_active
    assert PipelineDefinition.objects.get(name="full").version == 1
    assert NotificationChannel.objects.get(name="ops-alerts").is_active
    assert not NotificationChannel.objects.filter(name="new-name").exists()


def test_reusing_a_channel_that_disappeared_meanwhile_is_refused(monkeypatch) -> None:
    first_setup(monkeypatch)

    def answers():
        yield from ["2", "1", "1", "1", "n"]
        # Someone deletes the channel while the wizard waits for the confirmation.
        NotificationChannel.objects.filter(name="ops-alerts").delete()
        yield "y"

    feed = answers()
    monkeypatch.setattr("builtins.input", lambda *a: next(feed))
    with pytest.raises(CommandError, match="channel 'ops-alerts' cannot be reused"):
        run_wizard(monkeypatch, [])
    assert not PipelineDefinition.objects.filter(name="full-2").exists()
