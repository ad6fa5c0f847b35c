"""project/rows.py: single-row statements written once, on the database the suite runs on."""

from __future__ import annotations

import pytest

from apps.alerts.models import Alert, Incident
from project import rows

pytestmark = pytest.mark.django_db

_UNIQUE = "(source, fingerprint)"


def _alert(fingerprint: str, **extra) -> dict:
    return {"source": "generic", "fingerprint": fingerprint, "name": "n", "status": "firing",
            "severity": "warning", "labels": {"a": "1"}, **extra}  # fmt: skip


def test_create_fills_defaults_and_times_and_reads_back_as_the_orm_does() -> None:
    created = rows.create(Alert, _alert("r-1"))
    stored = Alert.objects.get(pk=created.pk)

    assert (stored.fingerprint, stored.labels, stored.annotations) == ("r-1", {"a": "1"}, {})
    assert stored.received_at == created.received_at and stored.updated_at is not None
    assert rows.get(Alert, source="generic", fingerprint="r-1").labels == {"a": "1"}


def test_a_conflict_inserts_nothing_and_says_so() -> None:
    first = rows.create_unless(Alert, _alert("r-2"), conflict=_UNIQUE)
    again = rows.create_unless(Alert, _alert("r-2", name="other"), conflict=_UNIQUE)

    assert first is not None and again is None
    assert list(Alert.objects.filter(fingerprint="r-2").values_list("name", flat=True)) == ["n"]


def test_update_applies_only_when_every_condition_holds() -> None:
    alert = rows.create(Alert, _alert("r-3"))

    assert rows.update(Alert, alert.pk, {"severity": "critical"}, status="resolved") == 0
    assert rows.update(Alert, alert.pk, {"severity": "critical"}, status="firing") == 1
    assert Alert.objects.get(pk=alert.pk).severity == "critical"


def test_values_filters_orders_limits_and_decodes() -> None:
    incident = Incident.objects.create(title="t", source="generic", group_key="g")
    for i in range(4):
        rows.create(Alert, _alert(f"v-{i}", incident_id=incident.pk, labels={"i": i}))

    found = rows.values(
        Alert, ("fingerprint", "labels"), "{incident} = %s", [incident.pk],
        order="{id} DESC", limit=2,
    )  # fmt: skip

    assert found == [{"fingerprint": "v-3", "labels": {"i": 3}},
                     {"fingerprint": "v-2", "labels": {"i": 2}}]  # fmt: skip
