"""The Celery tasks' plain behaviour (their worker-level behaviour is in the integration tests)."""

from __future__ import annotations

import pytest

from apps.orchestration.models import PipelineRun
from apps.orchestration.tasks import recover_stalled_runs, run_scheduled_pipeline
from apps.orchestration.tests.helpers import definition
from workers.app import RECOVERY_TASK_NAME, app

pytestmark = pytest.mark.django_db

NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]


def test_beat_schedules_the_recovery_task_by_its_stable_name():
    entries = {e["task"] for e in app.conf.beat_schedule.values()}
    assert RECOVERY_TASK_NAME == "orchestration.recover_stalled_runs"
    assert RECOVERY_TASK_NAME in entries
    assert recover_stalled_runs.name == RECOVERY_TASK_NAME


def test_a_scheduled_pipeline_starts_a_run_of_the_definition():
    definition("health-check", NODES)
    run_id = run_scheduled_pipeline("health-check")
    run = PipelineRun.objects.get(run_id=run_id)
    assert (run.source, run.status, run.definition_name) == (
        "schedule",
        "completed",
        "health-check",
    )


def test_a_missing_scheduled_pipeline_is_logged_not_raised(caplog):
    assert run_scheduled_pipeline("nope") is None
    assert "'nope' does not exist or is inactive" in caplog.text


def test_recovery_does_nothing_without_a_broker():
    assert recover_stalled_runs() == 0


def test_every_node_type_has_its_own_queue_and_plain_workers_consume_them_all():
    from apps.orchestration.nodes import list_node_types
    from workers.app import queue_for_node

    queues = {q.name for q in app.conf.task_queues}
    for node_type in list_node_types():
        assert queue_for_node(node_type) == f"nodes.{node_type}"
        assert f"nodes.{node_type}" in queues
    assert queue_for_node("custom") == "nodes.default" in queues
    assert queue_for_node("context", "host-a") == "host-a"
