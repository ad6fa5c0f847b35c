"""Admin: definitions validated on save with a version bump; runs show their executions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from apps.orchestration.models import PipelineDefinition
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db

NODES = [{"id": "a", "type": "transform", "config": {"source_node": "x"}}]


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def form(config, name="p"):
    return {
        "name": name,
        "description": "",
        "is_active": "on",
        "config": json.dumps(config),
        "tags": "{}",
        "created_by": "",
    }


def test_an_invalid_config_is_refused_with_its_errors(admin_client):
    response = admin_client.post(
        "/admin/orchestration/pipelinedefinition/add/", form({"nodes": []})
    )
    assert response.status_code == 200
    assert "Missing &#x27;version&#x27; in config" in response.content.decode()
    assert not PipelineDefinition.objects.exists()


def test_editing_the_config_bumps_the_version(admin_client):
    d = definition("p", NODES)
    url = f"/admin/orchestration/pipelinedefinition/{d.pk}/change/"
    response = admin_client.post(url, form({"version": "2", "nodes": NODES}))
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.version == 2
    assert d.created_by == "" or d.created_by == "admin"


def test_a_run_page_shows_its_node_executions(admin_client):
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import PipelineRun

    result = DefinitionBasedOrchestrator(definition("p", NODES)).execute()
    run = PipelineRun.objects.get(run_id=result["run_id"])
    page = admin_client.get(f"/admin/orchestration/pipelinerun/{run.pk}/change/")
    assert page.status_code == 200
    assert f"{run.run_id}:a:1" in page.content.decode() or "succeeded" in page.content.decode()
