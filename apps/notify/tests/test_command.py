"""The test_notify command."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.notify.models import NotificationChannel
from apps.notify.tests.conftest import RecordingServer, Reply

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("test_notify", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_sends_to_a_stored_channel(http_server: RecordingServer) -> None:
    NotificationChannel.objects.create(
        name="ops", driver="slack", config={"webhook_url": http_server.url + "/x"}
    )
    out = run("ops")
    assert "✓ Test notification sent to channel 'ops'" in out
    assert http_server.requests[0].json()["text"] == ("[INFO] Test notification from alertpipes")


def test_sends_to_a_driver_with_inline_config(http_server: RecordingServer) -> None:
    config = json.dumps({"endpoint_url": http_server.url})
    out = run("generic", "--config", config, "--title", "hello", "--severity", "warning")
    assert "✓ Test notification sent to driver 'generic'" in out
    body = http_server.requests[0].json()
    assert (body["title"], body["severity"]) == ("hello", "warning")


def test_a_failed_send_is_a_clear_error(http_server: RecordingServer) -> None:
    http_server.reply(Reply(status=500, body="down"))
    with pytest.raises(CommandError, match=r"failed \(temporary\): .*HTTP 500"):
        run("slack", "--config", json.dumps({"webhook_url": http_server.url}))


def test_bad_config_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="Invalid pagerduty config: routing_key is required"):
        run("pagerduty", "--config", "{}")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("nothing",), "neither a channel nor a driver"),
        (("slack",), "needs --config"),
        (("slack", "--config", "{oops"), "not valid JSON"),
    ],
)
def test_usage_errors(args: tuple[str, ...], problem: str) -> None:
    with pytest.raises(CommandError, match=problem):
        run(*args)


def test_a_failure_exits_non_zero(tmp_path, settings) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "PATH": "/usr/bin:/bin"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=settings.BASE_DIR,
            check=False,
        )

    assert manage("migrate", "--verbosity", "0").returncode == 0
    proc = manage("test_notify", "slack", "--config", '{"webhook_url": "ftp://x"}')
    assert proc.returncode == 1
    assert "Invalid slack config: webhook_url must be an http:// or https:// URL" in proc.stderr
