"""The network checker against servers and closed ports on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from apps.checkers.checkers import CheckerConfigError, CheckStatus, get_checker
from apps.checkers.checkers.network import parse_host


def test_a_listening_tcp_port_is_reachable_and_ok(tcp_server: int) -> None:
    result = get_checker("network").check(hosts=[f"127.0.0.1:{tcp_server}"])
    assert result.status == CheckStatus.OK, result.message
    probe = result.metrics["hosts"][f"127.0.0.1:{tcp_server}"]
    assert probe["reachable"] is True
    assert probe["method"] == "tcp"
    assert probe["latency_ms"] >= 0


def test_a_closed_port_is_critical(closed_port: int) -> None:
    result = get_checker("network").check(hosts=[f"127.0.0.1:{closed_port}"])
    assert result.status == CheckStatus.CRITICAL
    assert "unreachable" in result.message
    assert result.metrics["unreachable"] == 1
    assert result.error is None  # a down host is a finding, not a failure to measure


def test_one_unreachable_host_among_reachable_ones_is_critical(
    tcp_server: int, closed_port: int
) -> None:
    hosts = [f"127.0.0.1:{tcp_server}", f"127.0.0.1:{closed_port}"]
    result = get_checker("network").check(hosts=hosts)
    assert result.status == CheckStatus.CRITICAL
    assert result.metrics["reachable"] == 1
    assert f"127.0.0.1:{closed_port}" in result.message


def test_latency_at_or_above_the_critical_threshold_is_critical(tcp_server: int) -> None:
    result = get_checker("network").check(hosts=[f"127.0.0.1:{tcp_server}"], critical=0)
    assert result.status == CheckStatus.CRITICAL


def test_latency_at_or_above_the_warning_threshold_warns(tcp_server: int) -> None:
    result = get_checker("network").check(
        hosts=[f"127.0.0.1:{tcp_server}"], warning=0, critical=60_000
    )
    assert result.status == CheckStatus.WARNING


def test_a_host_that_never_answers_is_critical_after_the_timeout(unanswering_port: int) -> None:
    result = get_checker("network").check(hosts=[f"127.0.0.1:{unanswering_port}"], timeout=0.3)
    assert result.status == CheckStatus.CRITICAL
    assert "no answer within 0.3s" in result.message
    assert 250 < result.duration_ms < 3000


def test_a_bare_host_without_a_ping_binary_falls_back_to_tcp_on_the_port_option(
    no_ping: None, tcp_server: int
) -> None:
    result = get_checker("network").check(hosts=["127.0.0.1"], port=tcp_server)
    assert result.status == CheckStatus.OK
    assert result.metrics["hosts"][f"127.0.0.1:{tcp_server}"]["method"] == "tcp"


def test_a_bare_host_is_pinged_when_the_ping_binary_exists(answering_ping: Path) -> None:
    result = get_checker("network").check(hosts=["127.0.0.1"], timeout=1)
    assert result.status == CheckStatus.OK
    probe = result.metrics["hosts"]["127.0.0.1"]
    assert probe == {
        "target": "127.0.0.1",
        "method": "icmp",
        "reachable": True,
        "latency_ms": 0.42,
        "error": None,
    }
    assert answering_ping.read_text().split() == ["-n", "-c", "1", "-W", "1", "127.0.0.1"]


def test_a_host_that_does_not_answer_ping_is_critical(silent_ping: None) -> None:
    result = get_checker("network").check(hosts=["192.0.2.1"], method="icmp")
    assert result.status == CheckStatus.CRITICAL
    assert "100% packet loss" in result.message


def test_icmp_without_a_ping_binary_is_unknown_and_says_why(no_ping: None) -> None:
    result = get_checker("network").check(hosts=["127.0.0.1"], method="icmp")
    assert result.status == CheckStatus.UNKNOWN
    assert "ping binary" in (result.error or "")


def test_an_exception_while_probing_makes_the_check_unknown(
    monkeypatch: pytest.MonkeyPatch, tcp_server: int
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("resolver crashed")

    monkeypatch.setattr(socket, "create_connection", explode)
    result = get_checker("network").check(hosts=[f"127.0.0.1:{tcp_server}"])
    assert result.status == CheckStatus.UNKNOWN
    assert result.error == "RuntimeError: resolver crashed"


@pytest.mark.parametrize(
    "spec", ["db:99999", "db:http", ":80", "[::1]:0", "-f", "-c100000", "db host"]
)
def test_a_host_with_an_invalid_port_no_name_or_an_option_is_rejected(spec: str) -> None:
    with pytest.raises(CheckerConfigError, match="network: host"):
        get_checker("network").check(hosts=[spec])


def test_an_unknown_method_is_rejected() -> None:
    with pytest.raises(CheckerConfigError, match="must be one of auto, tcp, icmp"):
        get_checker("network").check(method="udp")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("example.org", ("example.org", None)),
        ("example.org:5432", ("example.org", 5432)),
        ("[::1]:443", ("::1", 443)),
        ("::1", ("::1", None)),
    ],
)
def test_host_specs_parse_into_name_and_port(spec: str, parsed: tuple[str, int | None]) -> None:
    assert parse_host(spec) == parsed


def test_with_no_hosts_configured_nothing_is_contacted_and_the_check_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_egress(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network checker contacted a host nobody configured")

    monkeypatch.setattr(socket, "create_connection", no_egress)
    monkeypatch.setattr(subprocess, "run", no_egress)
    result = get_checker("network").check()
    assert result.status == CheckStatus.UNKNOWN
    assert result.message == "No hosts configured (option hosts)"
    assert result.error is None
