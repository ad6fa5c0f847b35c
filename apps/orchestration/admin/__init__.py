"""The orchestration admin, one module per concept: definitions (the editor, graph, history
and actions) and runs (read-only, with their timeline, retry and cancel)."""

from apps.orchestration.admin import definitions, runs  # noqa: F401
