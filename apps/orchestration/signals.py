"""Signals other apps listen to, so the engine needs to know nothing about them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent when an operator retries a failed run from its failed node, before the node is
# published again. Arguments: ``run_id``, ``node_id``. The notify app makes channels that
# failed for good in that node sendable again (the operator has presumably fixed them).
run_retried = Signal()
