"""Node types for engine tests, registered through PIPELINE_EXTRA_NODE_HANDLERS.

They count their executions in Redis, so a test can see across worker processes how often a
node really ran (the question redelivery and recovery tests ask).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from apps.orchestration.errors import NodeError, RetryableNodeError
from apps.orchestration.nodes import BaseNodeHandler, NodeContext, NodeResult
from tests.support.services import redis_url

TEST_NODE_HANDLERS = ",".join(
    f"{name}=tests.support.nodes:{cls}"
    for name, cls in {
        "count": "CountingNode",
        "flaky": "FlakyNode",
        "suicide": "SuicideNode",
        "stubborn": "StubbornNode",
        "failing": "FailingNode",
    }.items()
)


def executions_key(run_id: str, node_id: str) -> str:
    return f"test-node-executions:{run_id}:{node_id}"


def count_execution(ctx: NodeContext) -> int:
    client = redis.Redis.from_url(redis_url())
    key = executions_key(ctx.run_id, ctx.node_id)
    count = client.incr(key)
    client.expire(key, 3600)
    return int(count)


class CountingNode(BaseNodeHandler):
    """Counts itself, then sleeps ``seconds`` (to be killed mid-node)."""

    name = "count"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        result = self.result(ctx, config)
        count = count_execution(ctx)
        time.sleep(float(config.get("seconds", 0)))
        result.output = {"executions": count, "pid": os.getpid()}
        return result


class FlakyNode(BaseNodeHandler):
    """Fails with a retryable error ``fail_times`` times, then succeeds."""

    name = "flaky"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        result = self.result(ctx, config)
        count = count_execution(ctx)
        if count <= int(config.get("fail_times", 0)):
            raise RetryableNodeError(f"transient failure {count}")
        result.output = {"executions": count, "attempt": ctx.attempt, "at": time.time()}
        return result


class SuicideNode(BaseNodeHandler):
    """Kills the process running it (as the kernel's OOM killer would), every time."""

    name = "suicide"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        count_execution(ctx)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


class StubbornNode(BaseNodeHandler):
    """Ignores the soft time limit and keeps working until the hard limit kills it."""

    name = "stubborn"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        count_execution(ctx)
        end = time.monotonic() + float(config.get("seconds", 60))
        while time.monotonic() < end:
            try:
                time.sleep(0.1)
            except (SoftTimeLimitExceeded, NodeError):
                continue  # a handler that swallows the soft limits: only the hard one stops it
        return self.result(ctx, config)


class InProcessNode(BaseNodeHandler):
    """Base of the in-process test nodes: they count executions in this process's memory."""

    calls: dict[str, int] = {}

    def bump(self, ctx: NodeContext) -> int:
        key = f"{ctx.run_id}:{ctx.node_id}"
        InProcessNode.calls[key] = InProcessNode.calls.get(key, 0) + 1
        return InProcessNode.calls[key]


class MemoryFlakyNode(InProcessNode):
    name = "memflaky"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        count = self.bump(ctx)
        if count <= int(config.get("fail_times", 0)):
            raise RetryableNodeError(f"transient failure {count}")
        result = self.result(ctx, config)
        result.output = {"executions": count}
        return result


class SleepNode(InProcessNode):
    name = "sleep"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        self.bump(ctx)
        time.sleep(float(config.get("seconds", 0)))
        result = self.result(ctx, config)
        result.output = {"slept": config.get("seconds", 0)}
        return result


class OutputNode(InProcessNode):
    """Returns ``config["output"]`` as it is, or a value JSON cannot hold (``"kind"``)."""

    name = "output"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        self.bump(ctx)
        result = self.result(ctx, config)
        kind = config.get("kind")
        if kind == "set":
            result.output = {"hosts": {"a", "b"}}
        elif kind == "nan":
            result.output = {"ratio": float("nan")}
        elif kind == "nul":
            result.output = {"text": "before\x00after"}
        else:
            result.output = dict(config.get("output") or {})
        return result


class DatabaseErrorNode(InProcessNode):
    """Writes what the database refuses (a NUL byte into a text column)."""

    name = "dberror"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        from apps.orchestration.models import PipelineDefinition

        self.bump(ctx)
        PipelineDefinition.objects.create(name=f"nul\x00{ctx.run_id}", config={})
        return self.result(ctx, config)


class BrokenNode(InProcessNode):
    """A handler with a bug: raises something that is not a NodeError."""

    name = "broken"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        self.bump(ctx)
        raise ValueError("handler bug")


class FailingNode(InProcessNode):
    """Reports a permanent failure in its result."""

    name = "failing"

    def execute(self, ctx: NodeContext, config: dict[str, Any]) -> NodeResult:
        self.bump(ctx)
        result = self.result(ctx, config)
        result.errors.append("permanent failure")
        result.output = {"partial": True}
        return result


IN_PROCESS_NODES = {
    "memflaky": MemoryFlakyNode,
    "output": OutputNode,
    "dberror": DatabaseErrorNode,
    "sleep": SleepNode,
    "broken": BrokenNode,
    "failing": FailingNode,
}
