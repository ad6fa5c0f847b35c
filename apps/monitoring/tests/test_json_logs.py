"""LOG_FORMAT=json: one JSON object a line with trace_id and run_id, secrets redacted."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from apps.orchestration.logging import RunContextFilter, bind_run
from project.logformat import JsonFormatter

ROOT = Path(__file__).resolve().parents[3]


def format_record(message: str, *args, **extra) -> dict:
    record = logging.LogRecord("apps.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    RunContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_line_carries_the_run_it_belongs_to():
    with bind_run("trace-1", "run-1"):
        line = format_record("node %s failed", "notify", node_id="notify")
    assert line["message"] == "node notify failed"
    assert (line["trace_id"], line["run_id"]) == ("trace-1", "run-1")
    assert line["level"] == "WARNING" and line["logger"] == "apps.test"
    assert line["node_id"] == "notify"


def test_outside_a_run_the_ids_are_dashes_and_odd_extras_still_serialize():
    line = format_record("hello", when=object())
    assert (line["trace_id"], line["run_id"]) == ("-", "-")
    assert "object" in line["when"]


def test_the_service_logs_json_lines_when_asked(tmp_path):
    script = (
        "import django, logging; django.setup();"
        "from apps.orchestration.logging import bind_run;"
        "ctx = bind_run('t-9', 'r-9'); ctx.__enter__();"
        "logging.getLogger('apps.orchestration').warning('sent to %s?token=abc123', 'hook')"
    )
    env = {
        **os.environ,
        "LOG_FORMAT": "json",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    [line] = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    assert (line["trace_id"], line["run_id"]) == ("t-9", "r-9")
    assert "abc123" not in line["message"]
