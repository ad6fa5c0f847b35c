"""Node types for engine tests, registered through PIPELINE_EXTRA_NODE_HANDLERS.

They count their executions in Redis, so a test can see across worker processes how often a
node really ran (the question redelivery and recovery tests ask).
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from apps.orchestration.errors import RetryableNodeError
from apps.orchestration.nodes import BaseNodeHandler, NodeContext, NodeResult
from tests.support.services import redis_url

TEST_NODE_HANDLERS = "count=tests.support.nodes:CountingNode,flaky=tests.support.nodes:FlakyNode"


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
    "sleep": SleepNode,
    "broken": BrokenNode,
    "failing": FailingNode,
}
