"""The admin index is the dashboard: every card with the database's numbers and a link to
what to fix."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from apps.alerts.models import Incident
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def card(page: str, name: str) -> str:
    found = re.search(rf'<section class="card[^"]*" id="card-{name}">(.*?)</section>', page, re.S)
    assert found, f"card {name} missing"
    return found.group(1)


def test_the_index_shows_every_card_with_real_numbers(admin_client):
    for status in ("completed", "completed", "failed"):
        PipelineRun.objects.create(definition_name="alerts", trace_id="t", status=status)
    Incident.objects.create(title="x", severity="critical", source="generic", group_key="g")

    page = admin_client.get("/admin/").content.decode()

    for name in ("runs", "failures", "stalled", "incidents", "workers", "beat", "channels", "ai"):
        card(page, name)
    runs = card(page, "runs")
    assert '<div class="figure"><a href="/admin/orchestration/pipelinerun/?created_at__gte=' in runs
    assert re.search(r'data-status="failed">1</a>', runs)
    assert re.search(r'data-status="completed">2</a>', runs)
    assert "33.3%" in card(page, "failures")
    assert 'data-severity="critical">1</a>' in card(page, "incidents")
    assert "Embedded mode" in card(page, "workers")
    assert "alerts" in card(page, "definitions")


def test_the_card_links_lead_to_filtered_lists_that_work(admin_client):
    PipelineRun.objects.create(definition_name="alerts", trace_id="t", status="failed")
    page = admin_client.get("/admin/").content.decode()
    links = re.findall(r'href="(/admin/[^"]+\?[^"]+)"', page)
    assert links
    for link in set(links):
        response = admin_client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        assert "?e=1" not in response.get("Location", ""), link


def test_the_dashboard_links_to_flower_when_it_is_configured(admin_client, settings):
    settings.FLOWER_URL = "https://flower.example.com/"
    assert 'href="https://flower.example.com/"' in admin_client.get("/admin/").content.decode()


def test_the_incidents_card_links_silences_and_noise_decisions(admin_client):
    incidents = card(admin_client.get("/admin/").content.decode(), "incidents")
    assert 'href="/admin/noise/silence/"' in incidents
    assert 'href="/admin/noise/noisedecision/"' in incidents
