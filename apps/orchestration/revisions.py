"""Revision history of pipeline definitions: every version of a definition's config.

Recorded by ``PipelineDefinition.save`` (and by the queryset's bulk ``update``) whenever a
definition is created or its version goes up, so every writer (admin, API, wizard, shell)
leaves one: nothing to remember at each call site.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from django.db import models


class PipelineDefinitionRevision(models.Model):
    """The config of one version of a definition."""

    definition = models.ForeignKey(
        "orchestration.PipelineDefinition", on_delete=models.CASCADE, related_name="revisions"
    )
    version = models.PositiveIntegerField()
    config = models.JSONField(default=dict)
    author = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "version"], name="one_revision_a_version")
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} v{self.version}"


def record(definition: Any, author: str = "") -> None:
    """Store the definition's current version and config (once per version)."""
    PipelineDefinitionRevision.objects.get_or_create(
        definition_id=definition.pk,
        version=definition.version,
        defaults={"config": definition.config, "author": author[:255]},
    )


def diff_lines(old: Any, new: Any, old_label: str, new_label: str) -> list[tuple[str, str]]:
    """A unified diff of two configs (masked by the caller) as ``(kind, line)`` pairs, kind
    one of ``add``, ``del``, ``hunk``, ``same``."""
    before = json.dumps(old, indent=2, sort_keys=True).splitlines()
    after = json.dumps(new, indent=2, sort_keys=True).splitlines()
    lines = []
    for line in difflib.unified_diff(before, after, old_label, new_label, n=3, lineterm=""):
        if line.startswith(("---", "+++")) or line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines
