"""Several real processes ingesting the same alert at the same instant, on real PostgreSQL."""

from __future__ import annotations

import multiprocessing
import queue

import pytest
from django.db import connection

from apps.alerts.models import Alert, Incident
from apps.alerts.tests.race_worker import ingest_at_barrier

WORKERS = 4
ROUNDS = 5


def _payloads(worker: int) -> list[dict]:
    # Rounds 0..ROUNDS-1: every worker sends the same fingerprint (alert and incident race);
    # the last round: each worker its own fingerprint in one shared group (incident race).
    same = [
        {"title": f"Race {r}", "fingerprint": f"race-{r}", "group_key": f"race-{r}"}
        for r in range(ROUNDS)
    ]
    return [*same, {"title": "Member", "fingerprint": f"member-{worker}", "group_key": "shared"}]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_processes_ingesting_one_fingerprint_at_once_create_exactly_one_alert() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent inserts need PostgreSQL")
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(WORKERS)
    results = spawn.Queue()
    processes = [
        spawn.Process(
            target=ingest_at_barrier,
            args=(database_url, barrier, results, worker, _payloads(worker)),
        )
        for worker in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = dict(results.get(timeout=120) for _ in processes)
    except queue.Empty:
        pytest.fail("a worker process did not report back")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()

    assert all(isinstance(o, list) for o in outcomes.values()), outcomes
    for r in range(ROUNDS):
        round_outcomes = [outcomes[w][r] for w in range(WORKERS)]
        assert all(o["errors"] == [] for o in round_outcomes)
        assert Alert.objects.filter(fingerprint=f"race-{r}").count() == 1
        assert sorted(o["created"] for o in round_outcomes) == [0] * (WORKERS - 1) + [1]
        assert Incident.objects.filter(group_key=f"race-{r}").count() == 1
        assert len({o["incident_id"] for o in round_outcomes}) == 1

    shared = [outcomes[w][ROUNDS] for w in range(WORKERS)]
    assert Alert.objects.filter(group_key="shared").count() == WORKERS
    assert Incident.objects.filter(group_key="shared").count() == 1
    assert len({o["incident_id"] for o in shared}) == 1
    assert all(p.exitcode == 0 for p in processes)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_celery_workers_ingesting_one_alert_in_parallel_runs_create_one_alert(
    celery_on_test_redis, tmp_path
) -> None:
    """The same alert in six runs at once, on a real worker with four pool processes."""
    from apps.orchestration.definition_orchestrator import DefinitionBasedOrchestrator
    from apps.orchestration.models import PipelineDefinition, PipelineRun
    from apps.orchestration.tests.helpers import wait_for_run
    from tests.support.worker import celery_worker

    ingest_only = PipelineDefinition.objects.create(
        name="ingest-only",
        config={"version": "1.0", "nodes": [{"id": "ingest", "type": "ingest"}]},
    )
    payload = {"title": "Worker race", "fingerprint": "worker-race", "severity": "critical"}
    orchestrator = DefinitionBasedOrchestrator(ingest_only)
    with celery_worker(tmp_path, concurrency=4):
        run_ids = [orchestrator.start(payload=payload, source="generic").run_id for _ in range(6)]
        runs = [wait_for_run(run_id) for run_id in run_ids]

    assert [r.status for r in runs] == ["completed"] * 6
    assert Alert.objects.filter(fingerprint="worker-race").count() == 1
    assert Incident.objects.count() == 1
    workers = set(
        PipelineRun.objects.filter(run_id__in=run_ids).values_list(
            "stage_executions__worker", flat=True
        )
    )
    assert len(workers) == 1 and "" not in workers  # all on the worker, none in-process
    created = [r.stage_executions.get().output_snapshot["output"]["alerts_created"] for r in runs]
    assert sorted(created) == [0, 0, 0, 0, 0, 1]


def _blocked_on_lock(pid: int, timeout: float = 10.0) -> bool:
    """Whether PostgreSQL backend ``pid`` comes to wait for a lock within ``timeout``."""
    import time

    from django.db import connections

    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cur.fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.02)
    return False


def _second_ingest_waits_for_first(first: dict, second: dict) -> tuple:
    """Ingest ``first`` in a transaction held open until ``second``'s ingest (another
    connection) is seen waiting on its rows; then commit and let ``second`` finish."""
    import threading

    from django.db import connection as main_connection
    from django.db import connections, transaction

    from apps.alerts.services import AlertOrchestrator

    started, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def first_ingest() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = AlertOrchestrator().process_webhook(first, driver="generic")
                started.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def second_ingest() -> None:
        try:
            with connections["default"].cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cur.fetchone()[0]
            outcome["second"] = AlertOrchestrator().process_webhook(second, driver="generic")
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=first_ingest)
    holder.start()
    assert started.wait(timeout=30)
    waiter = threading.Thread(target=second_ingest)
    waiter.start()
    try:
        deadline = 100
        while "pid" not in outcome and deadline:
            waiter.join(timeout=0.05)
            deadline -= 1
        blocked = _blocked_on_lock(outcome["pid"])
    finally:
        release.set()
        holder.join(timeout=30)
        waiter.join(timeout=30)
    assert main_connection.vendor == "postgresql"
    assert "error" not in outcome, outcome.get("error")
    return blocked, outcome["first"], outcome["second"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_new_alert_inserted_while_another_ingest_holds_it_uncommitted_is_updated_once() -> None:
    """The INSERT ... ON CONFLICT of a new alert meets a concurrent uncommitted insert of the
    same fingerprint: it waits, inserts nothing, and the retry locks and updates the
    winner's row (no savepoint, no IntegrityError, one alert, one incident)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent inserts need PostgreSQL")
    payload = {"title": "Held", "fingerprint": "held-1", "group_key": "held", "severity": "warning"}
    blocked, first, second = _second_ingest_waits_for_first(
        payload, {**payload, "severity": "critical"}
    )
    assert blocked, "the second ingest never waited for the first one's uncommitted row"
    assert (first.alerts_created, second.alerts_created, second.alerts_updated) == (1, 0, 1)
    assert Alert.objects.filter(fingerprint="held-1").count() == 1
    assert Alert.objects.get(fingerprint="held-1").seen_count == 2
    incident = Incident.objects.get(group_key="held")
    assert first.incident_id == second.incident_id == incident.pk
    assert incident.severity == "critical"  # the second delivery escalated it


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_new_incident_opened_while_another_ingest_opens_it_uncommitted_is_joined() -> None:
    """Two new alerts of one group: the second ingest's INSERT of the group's incident meets
    the first's uncommitted one on the partial unique index, waits, inserts nothing, and
    joins the winner's incident instead of opening a second."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent inserts need PostgreSQL")
    blocked, first, second = _second_ingest_waits_for_first(
        {"title": "One", "fingerprint": "grp-1", "group_key": "grp", "severity": "warning"},
        {"title": "Two", "fingerprint": "grp-2", "group_key": "grp", "severity": "critical"},
    )
    assert blocked, "the second ingest never waited for the first one's uncommitted incident"
    assert (first.incidents_created, second.incidents_created) == (1, 0)
    assert second.incidents_updated == 1
    incident = Incident.objects.get(group_key="grp")
    assert first.incident_id == second.incident_id == incident.pk
    assert set(incident.alerts.values_list("fingerprint", flat=True)) == {"grp-1", "grp-2"}
    assert incident.severity == "critical"
