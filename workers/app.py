"""Celery app wired to Django settings, with one queue per node type.

A worker started plainly (``celery -A workers worker``) consumes every queue listed here;
``-Q nodes.notify`` dedicates one to notifications so slow AI calls never starve them.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

NODE_QUEUE_PREFIX = "nodes."
NODE_TYPES_WITH_QUEUES = ("ingest", "context", "intelligence", "transform", "condition", "notify")
# Node types added by operators (PIPELINE_EXTRA_NODE_HANDLERS) share one queue.
EXTRA_NODES_QUEUE = NODE_QUEUE_PREFIX + "default"
MAINTENANCE_QUEUE = "maintenance"

app = Celery("alertpipes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(NODE_QUEUE_PREFIX + t) for t in NODE_TYPES_WITH_QUEUES] + [
    Queue(EXTRA_NODES_QUEUE),
    Queue(MAINTENANCE_QUEUE),
    Queue("celery"),
]
app.conf.task_default_queue = "celery"
app.conf.task_routes = {
    "orchestration.recover_stalled_runs": {"queue": MAINTENANCE_QUEUE},
    "orchestration.run_scheduled_pipeline": {"queue": MAINTENANCE_QUEUE},
}
app.autodiscover_tasks(["apps.orchestration"])


def queue_for_node(node_type: str, override: str | None = None) -> str:
    """The queue a node runs on: the node's own ``queue`` if set, else its type's queue."""
    if override:
        return override
    return (
        NODE_QUEUE_PREFIX + node_type if node_type in NODE_TYPES_WITH_QUEUES else EXTRA_NODES_QUEUE
    )
