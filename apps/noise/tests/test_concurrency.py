"""Races, forced: deliveries held at the start of their ingest by a table lock the test
owns, released together; sweepers released by a barrier; a double firing replayed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from apps.noise import sweeps
from apps.noise.models import NoiseDecision, NoiseState
from apps.noise.tests.support import Scenario, alert, pipeline
from apps.orchestration.models import PipelineRun
from apps.orchestration.nodes import NodeContext, get_node_handler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and lock waits need PostgreSQL")


def waiting_on(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
            [table],
        )
        return cursor.fetchone()[0]


@contextmanager
def held(table: str, waiters: int) -> Iterator[None]:
    """Lock ``table`` against writers (reads go on) until ``waiters`` sessions wait on it,
    then release them all at once."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        deadline = time.monotonic() + 30
        while waiting_on(table) < waiters:
            assert time.monotonic() < deadline, "the racers never reached the lock"
            time.sleep(0.05)


def in_threads(*calls: Callable[[], object]) -> list[object]:
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            results[i] = call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_identical_deliveries_racing_past_the_gate_notify_once(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    answers: list[object] = []
    # Both pass the gate (nothing stored yet) and both runs start; each ingest then waits
    # on the alerts table until both are there, and they go on together.
    with held("alerts_alert", waiters=2):
        thread = threading.Thread(
            target=lambda: answers.extend(
                in_threads(lambda: scenario.push(alert()), lambda: scenario.push(alert()))
            )
        )
        thread.start()
    thread.join(60)

    assert [a.status_code for a in answers] == [202, 202]
    assert PipelineRun.objects.count() == 2
    kinds = sorted(NoiseDecision.objects.filter(stage="ingest").values_list("kind", flat=True))
    assert kinds == ["new", "unchanged"]
    assert sink.kinds() == ["new"]


def test_two_new_alerts_of_one_group_racing_respect_the_storm_limit(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline(noise={"max_notifications_per_minute": 1}))
    scenario.push(alert("a", group_key="g"))
    answers: list[object] = []
    with held("alerts_alert", waiters=2):
        thread = threading.Thread(
            target=lambda: answers.extend(
                in_threads(
                    lambda: scenario.push(alert("b", group_key="g")),
                    lambda: scenario.push(alert("c", group_key="g")),
                )
            )
        )
        thread.start()
    thread.join(60)

    kinds = list(NoiseDecision.objects.filter(stage="ingest").values_list("kind", flat=True))
    assert sorted(kinds) == ["new", "storm-folded", "storm-folded"]
    assert sink.kinds() == ["new"]
    assert NoiseState.objects.get().folded == 2


def test_two_sweepers_firing_at_once_start_one_reminder(simulated, sink) -> None:
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    simulated.advance(hours=4)
    barrier = threading.Barrier(2)

    def sweep() -> int:
        barrier.wait()
        return sweeps.send_reminders(simulated.now())

    started = in_threads(sweep, sweep)

    assert sorted(started) == [0, 1]
    assert sink.kinds() == ["new", "reminder"]
    assert NoiseDecision.objects.filter(kind="reminder").count() == 1


def test_a_slot_already_claimed_starts_nothing(simulated, sink) -> None:
    # A sweeper that read the state before another one's commit (or a redelivered task)
    # reaches the slot the first one claimed: the unique slot stops it.
    scenario = Scenario(simulated, sink, pipeline())
    scenario.push(alert())
    state = NoiseState.objects.get()
    due = state.next_reminder_at
    NoiseDecision.objects.create(
        at=due, last_at=due, stage="sweep", kind="reminder", reason="the first firing",
        incident_id=state.pk, slot=f"reminder:{state.pk}:{due.isoformat()}",
    )  # fmt: skip
    simulated.advance(hours=4)

    assert sweeps.send_reminders(simulated.now()) == 0
    assert sink.kinds() == ["new"]


def test_a_retried_ingest_returns_its_first_decision_instead_of_unchanged(simulated) -> None:
    run = PipelineRun.objects.create(
        trace_id="t-1", definition_name="noisy", config=pipeline(), payload=alert()
    )
    handler = get_node_handler("ingest")
    ctx = NodeContext(trace_id="t-1", run_id=run.run_id, payload=alert(), source="generic")

    first = handler.execute(ctx, {"id": "ingest", "driver": "generic"})
    retried = handler.execute(ctx, {"id": "ingest", "driver": "generic"})

    assert first.output["noise"]["kind"] == "new"
    assert retried.output["noise"] == first.output["noise"]
    assert NoiseDecision.objects.filter(run_id=run.run_id).count() == 1


@pytest.mark.parametrize(
    ("attempt", "starts"),
    [(1, 2), (2, 1)],
    ids=["same-attempt-taken-over-after-a-crash", "next-attempt"],
)
def test_an_engine_retried_ingest_finds_its_decision(simulated, attempt, starts) -> None:
    """With the run as the engine loads it, the first start of attempt 1 skips looking for an
    earlier decision (none can exist); any later start looks and returns it."""
    run = PipelineRun.objects.create(
        trace_id="t-1", definition_name="noisy", config=pipeline(), payload=alert()
    )
    handler = get_node_handler("ingest")

    def ctx(attempt: int, starts: int) -> NodeContext:
        return NodeContext(
            trace_id="t-1", run_id=run.run_id, payload=alert(), source="generic",
            attempt=attempt, starts=starts, run_config=run.config, definition_name="noisy",
        )  # fmt: skip

    first = handler.execute(ctx(1, 1), {"id": "ingest", "driver": "generic"})
    retried = handler.execute(ctx(attempt, starts), {"id": "ingest", "driver": "generic"})

    assert first.output["noise"]["kind"] == "new"
    assert retried.output["noise"] == first.output["noise"]
    assert NoiseDecision.objects.filter(run_id=run.run_id).count() == 1
