"""Every wizard test writes its .env into its own temporary directory, never the checkout's,
and meets real servers on 127.0.0.1 for the channels and AI providers it configures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from apps.intelligence.tests.servers import ScriptedServer
from apps.notify.tests.conftest import (
    RecordingServer,
    SinkHandler,
    SmtpServer,
    _authenticate,
    free_port,
)


@pytest.fixture(autouse=True)
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / ".env"
    monkeypatch.setenv("DOTENV_PATH", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_ambient_configuration(settings: Any) -> None:
    # A developer's own keys and mappings must not change what the wizard asks or writes.
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.CHECKERS_SKIP = []
    settings.CHECKERS_SKIP_ALL = False
    settings.ALERTS_SOURCE_PIPELINES = {}
    settings.ALERTS_DEFAULT_PIPELINE = ""


@pytest.fixture
def hook_server() -> Iterator[RecordingServer]:
    """Stands in for Slack and generic webhook endpoints: records every POST, answers 200."""
    server = RecordingServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def ai_server() -> Iterator[ScriptedServer]:
    """An OpenAI-compatible chat completions server with scripted replies."""
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpServer]:
    """An SMTP server taking mail from user ``alerts`` with password ``s3cret``."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=_authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    yield SmtpServer(handler, port)
    controller.stop()
