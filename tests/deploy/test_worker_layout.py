"""Every deployment file runs the same worker layout as workers/app.py declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.app import IO_QUEUES, NODE_TYPES_WITH_QUEUES, queue_for_node

ROOT = Path(__file__).resolve().parents[2]
IO = ",".join(IO_QUEUES)


@pytest.mark.parametrize(
    "path",
    ["deploy/Procfile", "docker-compose.yml", "Makefile",
     "deploy/systemd/alertpipes-worker.service", "deploy/systemd/alertpipes-worker-io.service"],
)  # fmt: skip
def test_deployment_files_split_the_io_queues_onto_a_thread_pool(path):
    text = (ROOT / path).read_text()
    # The prefork worker leaves the I/O queues out; the thread-pool worker takes exactly them.
    io_lists = set(re.findall(r"nodes\.context,nodes\.intelligence,nodes\.notify", text))
    if path.endswith("alertpipes-worker.service"):
        assert f"-X {IO}" in text
        return
    if path.endswith("alertpipes-worker-io.service"):
        assert "--pool=threads" in text and f"-Q {IO}" in text
        return
    assert io_lists == {IO}
    assert "--pool=threads" in text or '"--pool=threads"' in text


def test_every_node_queue_is_consumed_by_exactly_one_worker_of_the_layout():
    queues = {queue_for_node(t) for t in NODE_TYPES_WITH_QUEUES}
    io = set(IO_QUEUES)
    assert io < queues
    assert queues - io  # the rest stays on the prefork worker (-X leaves only the I/O ones)
