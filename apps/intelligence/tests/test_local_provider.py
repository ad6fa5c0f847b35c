"""The local rule engine: each cause from crafted checks, metrics and incidents."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from apps.intelligence.context import AnalysisContext
from apps.intelligence.errors import ProviderConfigError
from apps.intelligence.providers import get_provider
from apps.intelligence.rules import severity_priority, tokens


def analyse(incident: dict[str, Any] | None = None, **context: Any) -> list[dict[str, Any]]:
    provider = get_provider("local", collect_live=False, process_sample_seconds=0)
    analysis = provider.analyze(incident, AnalysisContext(**context))
    return [r.to_dict() for r in analysis]


def by_type(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in recs}


def check(checker: str, status: str, message: str = "", **metrics: Any) -> dict[str, Any]:
    return {"checker": checker, "status": status, "message": message, "metrics": metrics}


def test_a_critical_memory_check_is_a_critical_memory_recommendation():
    recs = analyse(checks=[check("memory", "critical", "memory at 97%", percent=97.0)])

    rec = by_type(recs)["memory"]
    assert rec["priority"] == "critical"
    assert rec["title"] == "High memory usage"
    assert "memory at 97%" in rec["description"]
    assert rec["details"]["metrics"]["memory"] == {"percent": 97.0}
    assert any("OOM" in a for a in rec["actions"])


def test_a_warning_disk_check_is_high_priority():
    recs = analyse(checks=[check("disk", "warning", "/var at 88%")])

    assert by_type(recs)["disk"]["priority"] == "high"


def test_checks_that_pass_produce_nothing():
    assert analyse(checks=[check("cpu", "ok"), check("memory", "ok"), check("disk", "ok")]) == []


@pytest.mark.parametrize(
    ("checker", "cause"),
    [
        ("cpu", "cpu"),
        ("load_average", "cpu"),
        ("swap", "memory"),
        ("inodes", "disk"),
        ("file_descriptors", "process"),
        ("process", "process"),
        ("network", "network"),
    ],
)
def test_each_checker_maps_to_its_cause(checker, cause):
    recs = analyse(checks=[check(checker, "critical")])

    assert by_type(recs)[cause]["details"]["cause"] == cause


def test_an_unknown_checker_failing_is_still_reported():
    recs = analyse(checks=[check("ntp_drift", "warning", "clock off by 3s")])

    assert recs[0]["type"] == "check"
    assert recs[0]["title"] == "Health check ntp_drift failing"


def test_a_check_that_could_not_run_is_a_low_priority_recommendation():
    recs = analyse(checks=[check("disk", "unknown", "Permission denied: /data")])

    assert recs == [
        {
            "type": "check",
            "priority": "low",
            "title": "Health check disk could not run",
            "description": "Permission denied: /data",
            "details": {"checker": "disk", "metrics": {}},
            "actions": recs[0]["actions"],
        }
    ]


def test_system_metrics_over_thresholds_become_findings():
    system = {
        "cpu": {"percent": 97.5},
        "memory": {"percent": 88.0},
        "disk": {"path": "/", "percent": 50.0},
    }

    recs = by_type(analyse(system=system))

    assert recs["cpu"]["priority"] == "critical"
    assert recs["memory"]["priority"] == "high"
    assert "disk" not in recs


def test_disk_readings_per_mount_are_each_compared():
    system = {"disk": {"/": {"percent": 40.0}, "/var/lib/postgresql": {"percent": 96.0}}}

    rec = by_type(analyse(system=system))["disk"]

    assert rec["priority"] == "critical"
    assert "/var/lib/postgresql at 96.0%" in rec["description"]


def test_thresholds_can_be_configured():
    provider = get_provider("local", collect_live=False, thresholds={"cpu": [50, 60]})

    recs = provider.analyze(None, AnalysisContext(system={"cpu": {"percent": 55.0}}))

    assert [r.priority for r in recs] == ["high"]


def test_invalid_thresholds_are_refused():
    with pytest.raises(ProviderConfigError, match="thresholds"):
        get_provider("local", thresholds={"cpu": [95, 80]})


def test_top_processes_come_from_the_context_nodes_measurement():
    system = {
        "memory": {"percent": 96.0},
        "processes": [
            {"pid": 1, "name": "small", "memory_percent": 1.0, "cpu_percent": 50.0},
            {"pid": 2, "name": "java", "memory_percent": 60.0, "cpu_percent": 5.0},
        ],
    }

    rec = by_type(analyse(system=system))["memory"]

    assert [p["name"] for p in rec["details"]["top_processes"]] == ["java", "small"]


def test_top_processes_are_measured_live_for_checks_taken_on_this_host():
    checks = [{**check("cpu", "critical"), "hostname": socket.gethostname()}]

    rec = by_type(analyse(checks=checks))["cpu"]

    processes = rec["details"]["top_processes"]
    assert 1 <= len(processes) <= 5
    assert {"pid", "name", "cpu_percent", "memory_percent"} <= set(processes[0])


def test_no_live_processes_for_checks_taken_on_another_host():
    checks = [{**check("cpu", "critical"), "hostname": "some-other-host.invalid"}]

    rec = by_type(analyse(checks=checks))["cpu"]

    assert "top_processes" not in rec["details"]


@pytest.mark.parametrize(
    ("alert_name", "cause"),
    [
        ("KubePodOOMKilled", "memory"),
        ("NodeFilesystemSpaceFillingUp", "disk"),
        ("HostHighCpuLoad", "cpu"),
        ("KubePodCrashLooping", "process"),
        ("BlackboxProbeFailed", "network"),
    ],
)
def test_alert_names_map_to_likely_causes(incident, alert_name, cause):
    incident["title"] = alert_name
    incident["description"] = ""
    incident["alerts"][0].update(name=alert_name, description="", labels={}, annotations={})

    recs = analyse(incident)

    assert recs[0]["type"] == cause
    assert recs[0]["priority"] == "critical"
    assert recs[0]["title"].endswith("suspected")
    assert recs[0]["details"]["alerts"] == [alert_name]


def test_labels_point_at_the_resource(incident):
    incident.update(title="Something odd", description="")
    incident["alerts"][0].update(
        name="Odd", description="", labels={"mountpoint": "/data"}, annotations={}
    )

    assert analyse(incident)[0]["type"] == "disk"


def test_an_alert_runbook_becomes_an_action(incident):
    rec = by_type(analyse(incident))["memory"]

    assert "Follow the runbook: https://runbooks.example.com/memory" in rec["actions"]


def test_alert_severity_sets_the_priority(incident):
    incident["severity"] = "warning"
    incident["alerts"][0]["severity"] = "warning"

    assert by_type(analyse(incident))["memory"]["priority"] == "medium"


def test_a_resolved_incident_is_low_priority(incident):
    incident["status"] = "resolved"
    incident["alerts"][0]["status"] = "resolved"

    assert by_type(analyse(incident))["memory"]["priority"] == "low"


def test_measurements_confirm_what_the_alert_suggests(incident):
    incident["severity"] = "warning"
    incident["alerts"][0]["severity"] = "warning"

    rec = by_type(analyse(incident, checks=[check("memory", "critical", "97%")]))["memory"]

    assert rec["priority"] == "critical"
    assert rec["title"] == "High memory usage"
    assert rec["details"]["measured"] is True
    assert len(rec["details"]["evidence"]) >= 2


def test_an_incident_with_no_known_cause_gets_a_generic_recommendation():
    incident = {
        "id": 7,
        "title": "Payment provider returns errors",
        "severity": "high",
        "status": "open",
        "alerts": [
            {
                "name": "PaymentErrors",
                "labels": {},
                "annotations": {"runbook_url": "https://rb/pay"},
            }
        ],
    }

    (rec,) = analyse(incident)

    assert rec["type"] == "incident"
    assert rec["priority"] == "high"
    assert rec["title"] == "Investigate: Payment provider returns errors"
    assert rec["details"]["alerts"] == ["PaymentErrors"]
    assert "Follow the runbook: https://rb/pay" in rec["actions"]


def test_recommendations_are_sorted_by_priority():
    recs = analyse(
        checks=[
            check("disk", "unknown"),
            check("network", "warning"),
            check("memory", "critical"),
        ]
    )

    assert [r["priority"] for r in recs] == ["critical", "high", "low"]


def test_a_bare_system_scan_measures_this_host():
    provider = get_provider("local", thresholds={"cpu": [0, 0]}, process_sample_seconds=0)

    recs = provider.get_recommendations()

    cpu = next(r for r in recs if r.type == "cpu")
    assert cpu.priority == "critical"
    assert cpu.details["top_processes"]


def test_severity_mapping():
    assert [severity_priority(s) for s in ("critical", "error", "warning", "info", None)] == [
        "critical",
        "high",
        "medium",
        "low",
        "low",
    ]


def test_tokens_split_camel_case_and_keep_whole_words():
    assert {"kube", "pod", "oom", "killed", "kubepodoomkilled"} <= tokens("KubePodOOMKilled")


def test_descriptions_keep_the_case_of_alert_names(incident):
    rec = by_type(analyse(incident))["memory"]

    assert "HighMemoryUsage" in rec["description"]
    assert rec["description"][0].isupper()
