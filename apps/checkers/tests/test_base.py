from __future__ import annotations

import json
from typing import Any

import pytest

from apps.checkers.checkers import (
    CHECKER_REGISTRY,
    BaseChecker,
    CheckerConfigError,
    CheckStatus,
    get_checker,
)
from apps.checkers.checkers.base import Measurement
from apps.checkers.checkers.options import thresholds


class ExplodingChecker(BaseChecker):
    name = "exploding"
    description = "always fails while measuring"
    Options = thresholds(10.0, 20.0, "percent")

    def measure(self, config: dict[str, Any]) -> Measurement:
        raise ZeroDivisionError("division by zero")


def test_registry_keeps_the_wizard_numbering() -> None:
    names = list(CHECKER_REGISTRY)
    assert names[:3] == ["cpu", "memory", "disk"]
    assert names[6] == "network"
    assert names[7] == "process"
    assert len(names) == 8


def test_every_checker_has_a_description_and_valid_defaults() -> None:
    for name, cls in CHECKER_REGISTRY.items():
        assert cls.name == name
        assert cls.description
        assert cls.validate({}) == cls.defaults()


def test_an_exception_inside_a_measurement_becomes_an_unknown_result() -> None:
    result = ExplodingChecker().check()
    assert result.status == CheckStatus.UNKNOWN
    assert result.error == "ZeroDivisionError: division by zero"
    assert "division by zero" in result.message
    assert result.hostname
    assert result.duration_ms >= 0


def test_an_unknown_option_is_rejected_with_the_valid_options_listed() -> None:
    with pytest.raises(CheckerConfigError) as exc:
        get_checker("cpu").check(sample=3)
    assert "unknown option 'sample'" in str(exc.value)
    assert "warning, critical, samples, interval" in str(exc.value)


@pytest.mark.parametrize("value", ["high", True, None, [80]])
def test_a_threshold_that_is_not_a_number_is_rejected(value: Any) -> None:
    with pytest.raises(CheckerConfigError, match="option 'warning' must be a number"):
        CHECKER_REGISTRY["memory"].validate({"warning": value})


def test_a_negative_threshold_is_rejected() -> None:
    with pytest.raises(CheckerConfigError, match="must be at least 0"):
        CHECKER_REGISTRY["memory"].validate({"critical": -1})


def test_a_warning_above_the_critical_threshold_is_rejected() -> None:
    with pytest.raises(CheckerConfigError, match=r"warning threshold \(90\) must not exceed"):
        CHECKER_REGISTRY["disk"].validate({"warning": 90, "critical": 10})


def test_a_lone_critical_below_the_default_warning_pulls_the_warning_down() -> None:
    config = CHECKER_REGISTRY["memory"].validate({"critical": 50})
    assert config["warning"] == 50
    assert config["critical"] == 50


def test_a_lone_warning_above_the_default_critical_pushes_the_critical_up() -> None:
    config = CHECKER_REGISTRY["memory"].validate({"warning": 99})
    assert (config["warning"], config["critical"]) == (99, 99)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(CheckerConfigError) as exc:
        CHECKER_REGISTRY["cpu"].validate({"samples": 0, "interval": "fast", "bogus": 1})
    assert len(exc.value.errors) == 3


def test_list_options_accept_a_comma_separated_string() -> None:
    config = CHECKER_REGISTRY["disk"].validate({"paths": "/, /tmp ,"})
    assert config["paths"] == ["/", "/tmp"]


def test_a_list_option_needing_items_rejects_an_empty_list() -> None:
    with pytest.raises(CheckerConfigError, match="needs at least 1 item"):
        CHECKER_REGISTRY["disk"].validate({"paths": []})


def test_choices_are_enforced() -> None:
    with pytest.raises(CheckerConfigError, match="must be one of 1, 5, 15"):
        CHECKER_REGISTRY["load"].validate({"window": 3})


def test_whole_number_options_refuse_fractions() -> None:
    with pytest.raises(CheckerConfigError, match="whole number"):
        CHECKER_REGISTRY["cpu"].validate({"samples": 1.5})


def test_an_unknown_checker_name_lists_the_available_ones() -> None:
    with pytest.raises(CheckerConfigError, match="Unknown checker: gpu. Available: cpu, memory"):
        get_checker("gpu")


def test_the_worst_status_ranks_critical_then_warning_then_unknown_then_ok() -> None:
    s = CheckStatus
    assert s.worst([s.OK, s.UNKNOWN, s.WARNING]) == s.WARNING
    assert s.worst([s.OK, s.UNKNOWN]) == s.UNKNOWN
    assert s.worst([s.WARNING, s.CRITICAL, s.UNKNOWN]) == s.CRITICAL
    assert s.worst([]) == s.OK


def test_a_result_dict_is_json_serialisable_and_names_checker_and_host() -> None:
    data = get_checker("memory").check().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "checker",
        "status",
        "message",
        "metrics",
        "hostname",
        "duration_ms",
        "error",
    }
    assert data["checker"] == "memory"
