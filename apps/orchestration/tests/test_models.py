"""PipelineDefinition: the seed's fields and helpers, and a version that follows the config."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from apps.orchestration.models import PipelineDefinition

pytestmark = pytest.mark.django_db

CONFIG = {"version": "1.0", "nodes": [{"id": "a", "type": "transform", "config": {}}]}


def test_a_new_definition_is_active_at_version_one():
    d = PipelineDefinition.objects.create(name="p", config=CONFIG)
    assert (d.is_active, d.version, str(d)) == (True, 1, "p (v1)")
    assert d.get_nodes() == CONFIG["nodes"]
    assert d.get_entry_node() == CONFIG["nodes"][0]
    assert d.get_defaults() == {}


def test_names_are_unique():
    PipelineDefinition.objects.create(name="dup", config=CONFIG)
    with pytest.raises(IntegrityError):
        PipelineDefinition.objects.create(name="dup", config=CONFIG)


def test_saving_a_changed_config_bumps_the_version():
    d = PipelineDefinition.objects.create(name="p", config=CONFIG)
    d.config = {**CONFIG, "description": "changed"}
    d.save()
    assert d.version == 2
    d.refresh_from_db()
    assert d.version == 2


def test_saving_without_a_config_change_keeps_the_version():
    d = PipelineDefinition.objects.create(name="p", config=CONFIG)
    d.description = "only the description"
    d.save()
    d.refresh_from_db()
    assert d.version == 1


def test_a_bulk_update_of_the_config_bumps_the_version_too():
    d = PipelineDefinition.objects.create(name="p", config=CONFIG)
    PipelineDefinition.objects.filter(pk=d.pk).update(config={**CONFIG, "description": "x"})
    d.refresh_from_db()
    assert d.version == 2


def test_entry_node_is_none_without_nodes():
    assert PipelineDefinition(name="e", config={}).get_entry_node() is None
