"""Every source parser against its real payload fixtures, plus detection and the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from apps.alerts.drivers import (
    DRIVER_REGISTRY,
    AlertEvent,
    AlertStatus,
    Severity,
    detect_driver,
    get_driver,
    parse_payload,
)
from apps.alerts.drivers.base import normalize_severity, parse_timestamp
from apps.alerts.errors import PayloadNotRecognizedError, UnknownEventError
from apps.alerts.samples import get_sample_payload
from apps.alerts.tests.support import FIXTURES, fixture_paths, load_expected, load_fixture

FIXTURE_IDS = [f"{p.parent.name}/{p.stem}" for p in fixture_paths()]


def test_registry_keeps_the_seed_order() -> None:
    assert list(DRIVER_REGISTRY) == [
        "alertmanager",
        "grafana",
        "pagerduty",
        "datadog",
        "newrelic",
        "opsgenie",
        "zabbix",
        "generic",
    ]


def test_every_source_has_a_fixture_folder() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(DRIVER_REGISTRY)


@pytest.mark.parametrize("path", fixture_paths(), ids=FIXTURE_IDS)
def test_fixture_parses_to_its_expected_result(path: Path) -> None:
    driver = get_driver(path.parent.name)
    payload = load_fixture(path.parent.name, path.stem)
    expected = load_expected(path)

    if isinstance(expected, dict) and expected.get("error") == "UnknownEventError":
        with pytest.raises(UnknownEventError) as caught:
            driver.parse(payload)
        assert caught.value.event_type == expected["event_type"]
        assert caught.value.source == driver.name
        return
    if isinstance(expected, dict) and expected.get("error") == "PayloadNotRecognizedError":
        with pytest.raises(PayloadNotRecognizedError):
            driver.parse(payload)
        return

    alerts = driver.parse(payload)
    assert [a.to_dict() for a in alerts] == expected
    assert all(isinstance(a.raw, dict) and a.raw for a in alerts)


@pytest.mark.parametrize(
    "path",
    [p for p in fixture_paths() if p.stem != "not_an_alert"],
    ids=[i for i in FIXTURE_IDS if not i.endswith("not_an_alert")],
)
def test_auto_detection_finds_the_fixture_source(path: Path) -> None:
    assert detect_driver(load_fixture(path.parent.name, path.stem)).name == path.parent.name


def test_detection_rejects_a_payload_no_source_recognises_and_says_why() -> None:
    with pytest.raises(PayloadNotRecognizedError) as caught:
        detect_driver(load_fixture("generic", "not_an_alert"))
    assert "no alert source recognises" in caught.value.message
    assert "count, hello" in caught.value.message


def test_detection_rejects_json_that_is_not_an_object() -> None:
    with pytest.raises(PayloadNotRecognizedError, match="JSON object"):
        detect_driver([{"title": "x"}])


def test_specific_drivers_do_not_claim_each_others_payloads() -> None:
    for source in DRIVER_REGISTRY:
        payload = get_sample_payload(source)
        claimed = [
            n for n, cls in DRIVER_REGISTRY.items() if n != "generic" and cls().detect(payload)
        ]
        assert claimed == ([] if source == "generic" else [source]), source


def test_a_named_driver_rejects_another_sources_payload() -> None:
    with pytest.raises(PayloadNotRecognizedError, match="not a pagerduty payload"):
        get_driver("pagerduty").parse(load_fixture("opsgenie", "create"))


def test_an_unknown_driver_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="Known drivers: alertmanager, grafana"):
        parse_payload({}, "nagios")


def test_alertmanager_with_several_alerts_gives_one_alert_each_in_one_group() -> None:
    alerts = get_driver("alertmanager").parse(load_fixture("alertmanager", "mixed"))
    assert [a.status for a in alerts] == [
        AlertStatus.RESOLVED,
        AlertStatus.FIRING,
        AlertStatus.FIRING,
    ]
    assert len({a.group_key for a in alerts}) == 1
    assert len({a.fingerprint for a in alerts}) == 3


def test_alertmanager_without_fingerprints_hashes_the_labels() -> None:
    payload = {"alerts": [{"labels": {"alertname": "A", "x": "1"}}, {"labels": {"alertname": "A"}}]}
    first, second = get_driver("alertmanager").parse(payload)
    assert first.fingerprint != second.fingerprint
    assert first.group_key != second.group_key  # no groupKey: never grouped by name alone


def test_pagerduty_priority_wins_over_urgency() -> None:
    payload = load_fixture("pagerduty", "incident_triggered")
    payload["event"]["data"]["urgency"] = "high"
    payload["event"]["data"]["priority"] = {"summary": "P4"}
    assert get_driver("pagerduty").parse(payload)[0].severity is Severity.INFO
    payload["event"]["data"]["priority"] = None
    payload["event"]["data"]["urgency"] = "low"
    assert get_driver("pagerduty").parse(payload)[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", "critical"), ("P2", "critical"), ("P3", "warning"), ("P4", "info"), ("P5", "info")],
)
def test_opsgenie_priorities_map_to_severities(priority: str, severity: str) -> None:
    payload = load_fixture("opsgenie", "create")
    payload["alert"]["priority"] = priority
    assert get_driver("opsgenie").parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("nseverity", "severity"),
    [
        ("0", "info"),
        ("1", "info"),
        ("2", "warning"),
        ("3", "warning"),
        ("4", "critical"),
        ("5", "critical"),
    ],
)
def test_zabbix_severity_levels_map_to_severities(nseverity: str, severity: str) -> None:
    payload = load_fixture("zabbix", "problem")
    payload["event_nseverity"] = nseverity
    assert get_driver("zabbix").parse(payload)[0].severity == severity


def test_zabbix_recovery_keeps_the_problem_fingerprint() -> None:
    driver = get_driver("zabbix")
    problem = driver.parse(load_fixture("zabbix", "problem"))[0]
    recovery = driver.parse(load_fixture("zabbix", "recovery"))[0]
    assert problem.fingerprint == recovery.fingerprint
    assert recovery.status is AlertStatus.RESOLVED


def test_acknowledge_events_are_carried_as_lifecycle_events() -> None:
    for source, event in [
        ("pagerduty", "incident_acknowledged"),
        ("opsgenie", "acknowledge"),
        ("newrelic", "issue_acknowledged"),
        ("zabbix", "acknowledged"),
    ]:
        (alert,) = get_driver(source).parse(load_fixture(source, event))
        assert alert.event is AlertEvent.ACKNOWLEDGED, source
        assert alert.status is AlertStatus.FIRING, source


def test_datadog_unknown_transition_is_an_unknown_event() -> None:
    payload = load_fixture("datadog", "triggered")
    payload["alert_transition"] = "Downtime Started"
    with pytest.raises(UnknownEventError, match="Downtime Started"):
        get_driver("datadog").parse(payload)


def test_generic_without_a_title_says_which_fields_it_needs() -> None:
    with pytest.raises(PayloadNotRecognizedError, match="title, name, alertname"):
        get_driver("generic").parse({"alerts": [{"title": "ok"}, {"severity": "critical"}]})


def test_severity_words_from_many_tools_are_normalized() -> None:
    assert normalize_severity("CRITICAL") is Severity.CRITICAL
    assert normalize_severity("Disaster") is Severity.CRITICAL
    assert normalize_severity("average") is Severity.WARNING
    assert normalize_severity("informational") is Severity.INFO
    assert normalize_severity("bogus") is Severity.WARNING
    assert normalize_severity(None, Severity.INFO) is Severity.INFO


def test_timestamps_in_every_unit_become_utc_datetimes() -> None:
    expected = datetime(2024, 5, 14, 9, 35, tzinfo=UTC)
    assert parse_timestamp("2024-05-14T09:35:00Z") == expected
    assert parse_timestamp(1715679300) == expected
    assert parse_timestamp("1715679300000") == expected
    assert parse_timestamp(1715679300 * 10**9) == expected
    assert parse_timestamp("0001-01-01T00:00:00Z") is None
    assert parse_timestamp("yesterday") is None


@pytest.mark.parametrize("source", list(DRIVER_REGISTRY))
def test_every_source_ships_a_firing_sample_that_detection_recognises(source: str) -> None:
    sample = get_sample_payload(source)
    driver = detect_driver(sample)
    assert driver.name == source
    assert any(a.status is AlertStatus.FIRING for a in driver.parse(sample))


def test_asking_for_an_unknown_sample_lists_the_sources() -> None:
    with pytest.raises(KeyError, match="Known sources: alertmanager"):
        get_sample_payload("nagios")
