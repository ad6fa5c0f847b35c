"""One run in a real terminal (a pty): typed answers, a secret that is not echoed, colours,
the summary, and the closing test run reaching the channel."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pexpect
import pytest

from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.tests.setup_wizard.support import SECRET_URL_PATH
from tests.support import worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_wizard_run_in_a_real_terminal(tmp_path: Path, hook_server) -> None:
    env_file = tmp_path / ".env"
    env = {
        **os.environ,
        "DATABASE_URL": worker.test_database_url(),
        "CELERY_BROKER_URL": "",
        "DOTENV_PATH": "none",
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TERM": "xterm-256color",
        "PYTHONPATH": str(worker.ROOT),
    }
    transcript = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["manage.py", "setup_instance", "--env-file", str(env_file)],
        cwd=str(worker.ROOT),
        env=env,
        encoding="utf-8",
        timeout=90,
        dimensions=(60, 200),
    )
    child.logfile_read = transcript
    secret_url = f"{hook_server.url}{SECRET_URL_PATH}"
    try:
        child.expect_exact("? How will you use this instance?")
        child.expect_exact("> ")
        child.sendline("1")  # direct
        child.expect_exact("(comma-separated, e.g. 1,3): ")
        child.sendline("1")  # alertmanager
        child.expect_exact("(comma-separated, e.g. 1,3): ")
        child.sendline("2")  # slack
        child.expect_exact("Slack webhook URL: ")
        child.sendline(secret_url)
        child.expect_exact("Channel name [ops-slack]: ")
        child.sendline("")
        child.expect_exact("--- Summary ---")
        child.expect_exact("Apply this configuration? [Y/n]: ")
        child.sendline("y")
        child.expect_exact('Send a sample alertmanager alert through "direct" now? [Y/n]: ')
        child.sendline("")
        child.expect_exact("ops-slack (slack): accepted the message")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    output = transcript.getvalue()

    assert child.exitstatus == 0, output
    assert SECRET_URL_PATH not in output  # typed, never echoed, masked in the summary
    assert f'Notification: slack (ops-slack) {{"webhook_url": "{hook_server.url}/****"}}' in output
    assert "\x1b[" in output  # colours at a terminal
    assert NotificationChannel.objects.get(name="ops-slack").config["webhook_url"] == secret_url
    assert PipelineDefinition.objects.get(name="direct").is_active
    assert env_file.read_text().endswith("ALERTS_SOURCE_PIPELINES=alertmanager=direct\n")
    assert len(hook_server.requests) == 1
