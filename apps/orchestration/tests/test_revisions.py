"""Every writer leaves a revision: one per version, whoever bumped it (admin, API, wizard,
a bulk update), and the existing definitions start their history at their version."""

from __future__ import annotations

import pytest

from apps.orchestration.models import PipelineDefinition
from apps.orchestration.revisions import diff_lines

pytestmark = pytest.mark.django_db

NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]


def versions(name: str) -> list[int]:
    definition = PipelineDefinition.objects.get(name=name)
    return list(definition.revisions.order_by("version").values_list("version", flat=True))


def test_the_api_records_each_version(api):
    url = "/orchestration/definitions/"
    config = {"version": "1", "nodes": NODES}
    assert api.write.post(url, {"name": "p", "config": config}, format="json").status_code == 201
    changed = {**config, "description": "second"}
    assert api.write.patch(url + "p/", {"config": changed}, format="json").status_code == 200
    api.write.patch(url + "p/", {"description": "not the config"}, format="json")

    assert versions("p") == [1, 2]
    second = PipelineDefinition.objects.get(name="p").revisions.get(version=2)
    assert second.config == changed


def test_a_bulk_update_of_the_config_is_a_recorded_version():
    PipelineDefinition.objects.create(name="p", config={"version": "1", "nodes": NODES})
    PipelineDefinition.objects.filter(name="p").update(config={"version": "2", "nodes": NODES})
    assert versions("p") == [1, 2]


def test_a_replaced_definition_records_its_new_version_with_its_author():
    # The setup wizard replaces a definition by saving it (setup_instance, replace.save()).
    definition = PipelineDefinition.objects.create(
        name="w", config={"version": "1", "nodes": NODES}
    )
    definition.config = {"version": "2", "nodes": NODES}
    definition.save(author="setup_instance")
    assert versions("w") == [1, 2]
    assert definition.revisions.get(version=2).author == "setup_instance"


def test_a_diff_shows_what_changed():
    lines = diff_lines({"a": 1, "b": 2}, {"a": 1, "b": 3}, "v1", "v2")
    assert ("del", '-  "b": 2') in lines and ("add", '+  "b": 3') in lines
    assert ("same", '   "a": 1,') in lines
