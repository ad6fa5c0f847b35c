"""Run the wizard with answers piped to its stdin, as a script would."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

import psutil
import pytest
from django.core.management import call_command

SECRET_URL_PATH = "/services/T000/B000/S3cr3tT0k3n"


def run_wizard(monkeypatch: pytest.MonkeyPatch, answers: Sequence[str], *args: str) -> str:
    """The command's output after reading ``answers`` line by line from a (non-terminal)
    stdin; raises whatever the command raises."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{a}\n" for a in answers)))
    out = io.StringIO()
    call_command("setup_instance", *args, stdout=out)
    return out.getvalue()


def this_process_name() -> str:
    """A process name the process checker finds running: this test process's."""
    return psutil.Process().name()
