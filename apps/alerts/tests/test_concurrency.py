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
