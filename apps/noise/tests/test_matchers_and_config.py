"""Silence matchers (Alertmanager syntax) and a definition's noise settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.noise import matchers
from apps.noise.config import NoiseSettings, format_duration, parse_duration
from apps.noise.matchers import MatcherError, Subject
from apps.orchestration.validation import validate_config

DB = Subject("zabbix", "critical", "Disk full", {"host": "db-1", "team": "storage"})
PROM = Subject("alertmanager", "warning", "HighLoad", {"instance": "web-3:9100", "job": "node"})


@pytest.mark.parametrize(
    ("text", "subject", "expected"),
    [
        ("severity=critical", DB, True),
        ("severity!=critical", DB, False),
        ("source=zabbix", DB, True),
        ("host=db-1", DB, True),
        ("host=web-3", PROM, True),  # instance without its port
        ("host=~web-[0-9]+", PROM, True),
        ("host=~web", PROM, False),  # anchored, as in Alertmanager
        ("host!~db-.*", PROM, True),
        ("alertname=Disk full", DB, True),
        ('alertname="Disk full"', DB, True),
        ("team=storage", DB, True),
        ("team=storage", PROM, False),  # a missing label is the empty string
        ("team!=storage", PROM, True),
    ],
)
def test_a_matcher_matches_what_alertmanager_would(text: str, subject: Subject, expected: bool):
    assert matchers.parse(text).matches(subject) is expected


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "at least one matcher"),
        (["team!=x"], "must not match an empty value"),
        (["team=~.*"], "must not match an empty value"),
        (["host=~("], "invalid regex"),
        (["no operator"], "cannot read matcher"),
        (["host=" + "x" * 2000], "longer than 1024"),
    ],
)
def test_unusable_matchers_are_refused_saying_why(texts: list[str], message: str) -> None:
    with pytest.raises(MatcherError, match=message):
        matchers.parse_all(texts)


def test_matchers_round_trip_through_json_and_print_like_alertmanager() -> None:
    parsed = matchers.parse_all(['host=~"web-.*"', 'alertname="Disk \\"full\\""'])
    again = matchers.from_json([m.to_dict() for m in parsed])

    assert again == parsed
    assert matchers.describe(parsed) == 'host=~"web-.*", alertname="Disk \\"full\\""'


def test_durations_read_seconds_and_alertmanager_strings() -> None:
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    assert format_duration(timedelta(hours=4)) == "4h"
    assert format_duration(timedelta(minutes=90)) == "1h30m"


def test_settings_come_from_the_definition_with_documented_defaults() -> None:
    settings = NoiseSettings.from_config(
        {
            "on_unchanged": "run",
            "repeat_interval": "1h",
            "noise": {"max_notifications_per_minute": 0, "flap_window": 600},
        }
    )

    assert settings.on_unchanged == "run"
    assert settings.repeat_interval == timedelta(hours=1)
    assert settings.max_notifications_per_minute == 0
    assert settings.flap_window == timedelta(minutes=10)
    assert NoiseSettings.from_config({}).to_dict() == {
        "on_unchanged": "skip",
        "repeat_interval": "4h",
        "notify_resolved": True,
        "analyze_resolved": False,
        "flap_threshold": 4,
        "flap_window": "30m",
        "max_notifications_per_minute": 5,
        "analysis_cooldown": "15m",
    }


NODES = [{"id": "ingest", "type": "ingest"}]


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({"on_unchanged": "drop"}, "on_unchanged: 'drop' is not one of ['skip', 'run']"),
        ({"repeat_interval": "4x"}, "repeat_interval: '4x' does not match"),
        ({"repeat_interval": -1}, "repeat_interval: -1 is less than the minimum of 0"),
        ({"repeat_interval": "400d"}, "repeat_interval: '400d' is outside 0 to"),
        ({"noise": {"flap_threshold": 0}}, "noise.flap_threshold: 0 is less than the minimum"),
        ({"noise": {"storm": 1}}, "noise: Additional properties are not allowed ('storm'"),
    ],
)
def test_validation_names_a_bad_noise_key(keys: dict, error: str) -> None:
    errors = validate_config({"version": "1", "nodes": NODES, **keys})

    assert any(e.startswith(error) for e in errors), errors


def test_a_definition_with_every_noise_key_is_valid() -> None:
    config = {
        "version": "1",
        "on_unchanged": "skip",
        "repeat_interval": "4h",
        "noise": {
            "notify_resolved": True,
            "analyze_resolved": False,
            "flap_threshold": 4,
            "flap_window": "30m",
            "max_notifications_per_minute": 5,
            "analysis_cooldown": 900,
        },
        "nodes": NODES,
    }
    assert validate_config(config) == []
