"""Incidents in the admin: listed by state and severity with alert counts; acknowledge,
resolve and close with the API's services; the page shows alerts, history and runs."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from apps.alerts.models import Alert, AlertHistory, Incident
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def incident(title: str, severity: str = "warning", status: str = "open") -> Incident:
    return Incident.objects.create(
        title=title, severity=severity, status=status, source="generic", group_key=title
    )


def test_the_list_puts_active_and_severe_incidents_first_with_alert_counts(admin_client):
    low = incident("low", "info")
    high = incident("high", "critical")
    closed = incident("gone", "critical", "closed")
    for i in range(3):
        Alert.objects.create(
            source="generic", fingerprint=f"f{i}", name="a", status="firing",
            severity="critical", incident=high,
        )  # fmt: skip

    page = admin_client.get("/admin/alerts/incident/").content.decode()

    order = [int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)]
    assert order == [high.pk, low.pk, closed.pk]
    assert re.search(r'<td class="field-alert_count">3</td>', page)
    active = admin_client.get("/admin/alerts/incident/?active=1").content.decode()
    assert "gone" not in active


def test_acknowledge_from_the_page_then_resolve_and_close(admin_client):
    item = incident("disk")
    page = admin_client.get(f"/admin/alerts/incident/{item.pk}/change/").content.decode()
    assert 'id="incident-acknowledge"' in page

    for verb, status in (
        ("acknowledge", "acknowledged"),
        ("resolve", "resolved"),
        ("close", "closed"),
    ):
        response = admin_client.post(f"/admin/alerts/incident/{item.pk}/{verb}/")
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.status == status
    assert item.acknowledged_at and item.resolved_at and item.closed_at


def test_an_impossible_transition_says_why(admin_client):
    item = incident("disk", status="closed")
    response = admin_client.post(f"/admin/alerts/incident/{item.pk}/acknowledge/", follow=True)
    assert "only open incidents can become acknowledged" in response.content.decode()


def test_bulk_acknowledge_from_the_list(admin_client):
    items = [incident("a"), incident("b")]
    admin_client.post(
        "/admin/alerts/incident/",
        {"action": "acknowledge_selected", "_selected_action": [i.pk for i in items]},
    )
    assert set(Incident.objects.values_list("status", flat=True)) == {"acknowledged"}


def test_the_incident_page_shows_its_alerts_history_and_runs(admin_client):
    item = incident("disk")
    alert = Alert.objects.create(
        source="generic", fingerprint="f", name="DiskFull", status="firing",
        severity="warning", incident=item,
    )  # fmt: skip
    AlertHistory.objects.create(alert=alert, incident=item, event="created", new_status="firing")
    run = PipelineRun.objects.create(definition_name="alerts", trace_id="t", incident=item)

    page = admin_client.get(f"/admin/alerts/incident/{item.pk}/change/").content.decode()

    assert "DiskFull" in page
    assert "history (alert state changes)" in page.lower()
    assert run.run_id in page


def test_the_incident_page_links_its_noise_decisions_and_the_silences(admin_client):
    item = incident("disk")
    page = admin_client.get(f"/admin/alerts/incident/{item.pk}/change/").content.decode()
    decisions = f"/admin/noise/noisedecision/?incident__exact={item.pk}"
    assert f'href="{decisions}"' in page
    assert 'href="/admin/noise/silence/"' in page
    listed = admin_client.get(decisions)
    assert listed.status_code == 200 and "?e=1" not in listed.get("Location", "")
