"""Applying is all-or-nothing: an error or Ctrl-C leaves the database and .env as they were."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.db.models.signals import pre_save

from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.setup_wizard.apply import InterruptGate
from apps.orchestration.tests.setup_wizard.support import run_wizard

SLACK = "https://hooks.slack.com/services/T0/B0/X"
# The health-checked preset writes .env (ALERTS_SOURCE_PIPELINES, CHECKERS_SKIP), a channel
# and a definition.
ANSWERS = ["2", "1", "1", "2", SLACK, "ops-slack", "y"]
ENV_BEFORE = "# my settings\nDJANGO_DEBUG=1\n"


def nothing_applied(env_file: Path) -> None:
    assert PipelineDefinition.objects.count() == 0
    assert NotificationChannel.objects.count() == 0
    assert env_file.read_text() == ENV_BEFORE
    assert sorted(p.name for p in env_file.parent.iterdir()) == [".env"]  # no temporary file


@pytest.fixture
def signal_receiver():
    receivers = []

    def connect(receiver, sender):
        pre_save.connect(receiver, sender=sender, weak=False)
        receivers.append((receiver, sender))

    yield connect
    for receiver, sender in receivers:
        pre_save.disconnect(receiver, sender=sender)


@pytest.mark.django_db
def test_ctrl_c_in_the_middle_of_applying_leaves_nothing_behind(
    monkeypatch, env_file: Path, signal_receiver
) -> None:
    env_file.write_text(ENV_BEFORE)

    def interrupt(sender, instance, **kwargs):
        # A real SIGINT, delivered after the channel is written and before the definition.
        os.kill(os.getpid(), signal.SIGINT)

    signal_receiver(interrupt, PipelineDefinition)
    with pytest.raises(CommandError, match="Setup interrupted. Nothing was applied.") as error:
        run_wizard(monkeypatch, ANSWERS)
    assert error.value.returncode == 130
    nothing_applied(env_file)


@pytest.mark.django_db
def test_a_database_error_in_the_middle_of_applying_leaves_nothing_behind(
    monkeypatch, env_file: Path
) -> None:
    env_file.write_text(ENV_BEFORE)

    def answers():
        yield from ANSWERS[:-1]
        # Someone creates a definition of the same name while the wizard waits for the "y":
        # the channel is written, then the definition's INSERT fails on the unique name.
        PipelineDefinition.objects.create(name="health-checked", config={})
        yield "y"

    feed = answers()
    monkeypatch.setattr("builtins.input", lambda *a: next(feed))
    with pytest.raises(CommandError, match="Applying failed, nothing was applied"):
        run_wizard(monkeypatch, [])
    assert list(PipelineDefinition.objects.values_list("name", flat=True)) == ["health-checked"]
    assert NotificationChannel.objects.count() == 0
    assert env_file.read_text() == ENV_BEFORE


@pytest.mark.django_db(transaction=True)
def test_a_failed_commit_puts_the_previous_env_file_back(
    monkeypatch, env_file: Path, signal_receiver
) -> None:
    env_file.write_text(ENV_BEFORE)

    def dangling_reference(sender, instance, **kwargs):
        # A foreign key PostgreSQL checks only at COMMIT, i.e. after the .env rename.
        connection.cursor().execute(
            "SET CONSTRAINTS ALL DEFERRED; INSERT INTO orchestration_pipelinerun "
            "(run_id, trace_id, definition_id, definition_name, definition_version, config, "
            "payload, source, environment, status, current_node, current_attempt, "
            "dispatch_count, error_type, error_message, created_at, updated_at) VALUES "
            "('dangling', 't', 987654321, 'x', 1, '{}', '{}', 's', 'e', 'pending', '', 1, 0, "
            "'', '', now(), now())"
        )

    signal_receiver(dangling_reference, PipelineDefinition)
    with pytest.raises(CommandError, match="Applying failed, nothing was applied"):
        run_wizard(monkeypatch, ANSWERS)
    nothing_applied(env_file)


@pytest.mark.django_db
def test_ctrl_c_at_a_question_applies_nothing(monkeypatch, env_file: Path) -> None:
    env_file.write_text(ENV_BEFORE)
    feed = iter(ANSWERS[:3])

    def answer(*args):
        try:
            return next(feed)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr("builtins.input", answer)
    with pytest.raises(CommandError, match="Setup interrupted. Nothing was applied."):
        run_wizard(monkeypatch, [])
    nothing_applied(env_file)


@pytest.mark.django_db
def test_input_that_ends_early_applies_nothing(monkeypatch, env_file: Path) -> None:
    env_file.write_text(ENV_BEFORE)
    with pytest.raises(CommandError, match="the input ended before the wizard finished"):
        run_wizard(monkeypatch, ANSWERS[:4])
    nothing_applied(env_file)


@pytest.mark.django_db
def test_an_env_file_that_cannot_be_written_stops_before_the_database(
    monkeypatch, env_file: Path
) -> None:
    env_file.mkdir()
    with pytest.raises(CommandError, match="exists and is not a file"):
        run_wizard(monkeypatch, ANSWERS)
    assert PipelineDefinition.objects.count() == 0
    assert NotificationChannel.objects.count() == 0


def test_the_interrupt_gate_holds_ctrl_c_only_once_told_to() -> None:
    with InterruptGate() as gate, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
    with InterruptGate() as gate:
        gate.hold()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert gate.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
