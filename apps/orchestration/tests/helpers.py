"""Small helpers shared by the orchestration tests."""

from __future__ import annotations

import time
from typing import Any

from apps.orchestration.models import PipelineDefinition, PipelineRun


def definition(name: str, nodes: list[dict[str, Any]], **defaults: Any) -> PipelineDefinition:
    config: dict[str, Any] = {"version": "1.0", "nodes": nodes}
    if defaults:
        config["defaults"] = defaults
    return PipelineDefinition.objects.create(name=name, config=config)


def wait_for_run(run_id: str, timeout: float = 60, poll: Any = None) -> PipelineRun:
    """Poll the database until the run finishes; ``poll`` is called on every round."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        run = PipelineRun.objects.get(run_id=run_id)
        if run.is_finished:
            return run
        if poll:
            poll()
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout}s (status {run.status})")


def wait_until(predicate: Any, timeout: float = 30, message: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def new_run(
    nodes: list[dict[str, Any]], runner: Any = None, name: str = "engine-test", **defaults: Any
) -> PipelineRun:
    """A stored run whose entry step is scheduled on ``runner`` (by default an InlineRunner
    nobody drains, so nothing runs until the test says so)."""
    from apps.orchestration import engine
    from apps.orchestration.engine.runner import InlineRunner

    config: dict[str, Any] = {"version": "1.0", "nodes": nodes}
    if defaults:
        config["defaults"] = defaults
    return engine.create_run(
        config=config,
        definition=None,
        definition_name=name,
        definition_version=1,
        payload={},
        source="test",
        trace_id=None,
        environment="test",
        incident_id=None,
        runner=runner or InlineRunner(),
    )
