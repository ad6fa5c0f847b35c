"""Each preset end to end: answers piped to ``setup_instance``, records and .env checked, and
the closing test run delivered to real servers on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.intelligence.tests.servers import Reply, chat_completion
from apps.notify.models import NotificationChannel
from apps.orchestration.models import PipelineDefinition, PipelineRun
from apps.orchestration.setup_wizard.envwriter import read_values
from apps.orchestration.tests.setup_wizard.support import (
    SECRET_URL_PATH,
    run_wizard,
    this_process_name,
)

pytestmark = pytest.mark.django_db

ANALYSIS = {
    "summary": "All good on this host",
    "recommendations": [
        {
            "type": "general",
            "priority": "low",
            "title": "Nothing to do",
            "description": "The alert is a sample.",
            "details": {},
            "actions": [],
        }
    ],
}


def types(definition: PipelineDefinition) -> list[str]:
    return [node["type"] for node in definition.get_nodes()]


def node(definition: PipelineDefinition, node_type: str) -> dict:
    return next(n for n in definition.get_nodes() if n["type"] == node_type)


def test_direct_forwards_alerts_to_a_generic_webhook_with_secret_headers(
    monkeypatch, env_file: Path, hook_server
) -> None:
    out = run_wizard(
        monkeypatch,
        [
            "1",  # direct
            "1,8",  # alertmanager, generic
            "4",  # generic webhook
            f"{hook_server.url}/hook",
            '{"Authorization": "Bearer t0k3n-SECRET"}',
            "ops-hook",
            "y",
        ],
        "--test-run",
    )

    definition = PipelineDefinition.objects.get(name="direct")
    assert types(definition) == ["ingest", "notify"]
    assert node(definition, "notify")["config"] == {"channels": ["ops-hook"]}
    assert definition.tags == [
        "setup_wizard",
        "preset:direct",
        "source:alertmanager",
        "source:generic",
    ]
    channel = NotificationChannel.objects.get(name="ops-hook")
    assert channel.config == {
        "endpoint_url": f"{hook_server.url}/hook",
        "headers": '{"Authorization": "Bearer t0k3n-SECRET"}',
    }
    assert read_values(env_file) == {
        "ALERTS_SOURCE_PIPELINES": "alertmanager=direct,generic=direct"
    }
    # The test run: the sample Alertmanager alert reached the endpoint with the header.
    assert len(hook_server.requests) == 1
    assert hook_server.requests[0].headers["Authorization"] == "Bearer t0k3n-SECRET"
    assert "✓ ops-hook (generic): accepted the message" in out
    assert "t0k3n-SECRET" not in out


def test_health_checked_puts_every_checker_answer_into_the_context_node(
    monkeypatch, env_file: Path, hook_server, tmp_path: Path
) -> None:
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    process = this_process_name()
    out = run_wizard(
        monkeypatch,
        [
            "2",  # health-checked
            "1",  # alertmanager
            "3,7,8",  # disk, network, process
            f"/,{tmp_path}",
            f"127.0.0.1:{port}",
            process,
            "2",  # slack
            f"{hook_server.url}{SECRET_URL_PATH}",
            "",  # channel name: the default
            "",  # apply: the default (yes)
        ],
        "--test-run",
    )
    listener.close()

    definition = PipelineDefinition.objects.get(name="health-checked")
    assert types(definition) == ["ingest", "context", "notify"]
    context = node(definition, "context")
    assert context["required"] is False
    assert context["config"] == {
        "checker_names": ["disk", "network", "process"],
        "checker_options": {
            "disk": {"paths": ["/", str(tmp_path)]},
            "network": {"hosts": [f"127.0.0.1:{port}"]},
            "process": {"names": [process]},
        },
    }
    assert NotificationChannel.objects.get(name="ops-slack").config == {
        "webhook_url": f"{hook_server.url}{SECRET_URL_PATH}"
    }
    assert read_values(env_file)["CHECKERS_SKIP"] == "cpu,memory,load,swap,inodes"
    assert "Checks run: 3" in out
    assert "✓ ops-slack (slack): accepted the message" in out
    assert SECRET_URL_PATH not in out
    assert len(hook_server.requests) == 1


def test_ai_analyzed_keeps_the_api_key_in_env_and_the_test_run_uses_it(
    monkeypatch, env_file: Path, hook_server, ai_server, settings
) -> None:
    settings.OPENAI_BASE_URL = f"{ai_server.url}/v1"
    ai_server.replies.append(Reply(body=chat_completion(json.dumps(ANALYSIS))))
    out = run_wizard(
        monkeypatch,
        ["3", "2", "2", "sk-wizard-SECRET", "", "2", f"{hook_server.url}/slack", "ai-ops", "y"],
        "--test-run",
    )

    definition = PipelineDefinition.objects.get(name="ai-analyzed")
    assert types(definition) == ["ingest", "intelligence", "notify"]
    assert node(definition, "intelligence")["config"] == {
        "provider": "openai",
        "provider_config": {"model": "gpt-4o-mini"},
    }
    assert "sk-wizard-SECRET" not in json.dumps(definition.config)
    assert read_values(env_file)["OPENAI_API_KEY"] == "sk-wizard-SECRET"
    assert "sk-wizard-SECRET" not in out
    assert "OPENAI_API_KEY=****" in out
    # The test run asked the model with the key just written, and delivered its analysis.
    assert ai_server.requests[0].headers["authorization"] == "Bearer sk-wizard-SECRET"
    assert "Nothing to do" in hook_server.requests[0].body.decode()
    assert "✓ ai-ops (slack): accepted the message" in out


def test_full_with_email_sends_the_sample_alert_through_a_real_smtp_server(
    monkeypatch, env_file: Path, smtp_sink
) -> None:
    out = run_wizard(
        monkeypatch,
        [
            "4",  # full
            "2",  # grafana
            "1,2",  # cpu, memory
            "1",  # local
            "1",  # email
            "127.0.0.1",
            str(smtp_sink.port),
            "alerts",
            "s3cret",
            "noreply@example.com",
            "ops@example.com,oncall@example.com",
            "ops-email",
            "y",
        ],
        "--test-run",
    )

    definition = PipelineDefinition.objects.get(name="full")
    assert types(definition) == ["ingest", "context", "intelligence", "notify"]
    assert node(definition, "intelligence")["config"] == {"provider": "local"}
    assert NotificationChannel.objects.get(name="ops-email").config["smtp_password"] == "s3cret"
    assert "s3cret" not in out
    [envelope] = smtp_sink.handler.envelopes
    assert envelope.rcpt_tos == ["ops@example.com", "oncall@example.com"]
    assert "✓ ops-email (email): accepted the message" in out
    run = PipelineRun.objects.get(definition_name="full")
    assert (run.status, run.source, run.environment) == ("completed", "grafana", "setup-test")


def test_scheduled_checks_create_a_beat_schedule_and_notify_after_every_run(
    monkeypatch, env_file: Path, hook_server
) -> None:
    out = run_wizard(
        monkeypatch,
        [
            "5",  # scheduled-checks
            "2",  # memory
            "10m",
            "2",  # notify after every run
            "redis://127.0.0.1:6379/3",
            "2",  # slack
            f"{hook_server.url}/slack",
            "",
            "y",
        ],
        "--test-run",
    )

    definition = PipelineDefinition.objects.get(name="scheduled-checks")
    assert types(definition) == ["context", "notify"]
    assert "required" not in node(definition, "context")  # the checks are the point here
    task = PeriodicTask.objects.get(task="orchestration.run_scheduled_pipeline")
    assert json.loads(task.args) == ["scheduled-checks"]
    assert (task.interval.every, task.interval.period) == (10, IntervalSchedule.MINUTES)
    values = read_values(env_file)
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"
    assert "ALERTS_SOURCE_PIPELINES" not in values
    assert '✓ Scheduled "scheduled-checks every 10m" (every 10m)' in out
    assert "✓ ops-slack (slack): accepted the message" in out
    assert "Health check" in hook_server.requests[0].body.decode()


def test_scheduled_checks_with_analysis_notify_only_on_problems(
    monkeypatch, env_file: Path, hook_server
) -> None:
    out = run_wizard(
        monkeypatch,
        [
            "6",  # scheduled-checks-ai
            "8",  # process
            this_process_name(),
            "*/15 * * * *",
            "1",  # only on problems
            "none",  # no broker yet
            "1",  # local
            "2",  # slack
            f"{hook_server.url}/slack",
            "",
            "y",
        ],
        "--test-run",
    )

    definition = PipelineDefinition.objects.get(name="scheduled-checks-ai")
    assert types(definition) == ["context", "condition", "intelligence", "notify"]
    condition = node(definition, "condition")
    assert condition["config"] == {
        "if": {
            "path": "check_health.status",
            "op": "in",
            "value": ["warning", "critical", "unknown"],
        },
        "then": "analyze_checks",
    }
    task = PeriodicTask.objects.get(task="orchestration.run_scheduled_pipeline")
    assert (task.crontab.minute, task.crontab.hour) == ("*/15", "*")
    assert "CELERY_BROKER_URL" not in read_values(env_file)
    assert "No Celery broker is configured" in out
    # The process is running, so the run ends at the condition; the channel is tested directly.
    assert "Nothing to notify about in this run" in out
    assert "✓ ops-slack (slack): accepted the message" in out
    assert "Test notification" in hook_server.requests[0].body.decode()


def test_a_scheduled_check_that_finds_a_problem_notifies_through_the_pipeline(
    monkeypatch, env_file: Path, hook_server
) -> None:
    out = run_wizard(
        monkeypatch,
        ["5", "8", "no-such-process-xyz", "1h", "1", "none", "2", f"{hook_server.url}/s", "", "y"],
        "--test-run",
    )

    assert "--- notify (notify_channels) ---" in out
    assert "✓ ops-slack (slack): accepted the message" in out
    assert "no-such-process-xyz" in hook_server.requests[0].body.decode()
