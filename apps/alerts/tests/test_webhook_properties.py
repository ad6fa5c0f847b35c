"""Property: whatever is POSTed to a webhook path, the answer is never a 5xx, and a refused
request leaves nothing behind (no run, no delivery record, no alert).

Besides random and mutated payloads, the hostile classes of issue 8: NUL and other control
characters in bodies and query parameters, lone surrogates, nesting around and beyond the
depth limit, and bodies sent chunked (no Content-Length).
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.alerts.drivers import DRIVER_REGISTRY
from apps.alerts.tests.support import fixture_paths
from apps.alerts.tests.webhook_support import (
    ingest_only_definition,
    post,
    post_chunked,
    row_counts,
)
from apps.orchestration.models import PipelineRun

pytestmark = pytest.mark.django_db

PATHS = [f"/alerts/webhook/{name}/" for name in DRIVER_REGISTRY] + [
    "/alerts/webhook/",
    "/orchestration/pipeline/",
    "/orchestration/pipeline/?definition=ingest-only",
]
FIXTURES = [json.loads(p.read_text()) for p in fixture_paths()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    """A real payload with one value somewhere replaced: reaches deep into the parsers."""
    payload = copy.deepcopy(draw(st.sampled_from(FIXTURES)))
    node = payload
    for _ in range(draw(st.integers(0, 3))):
        if isinstance(node, dict) and node:
            child = node[draw(st.sampled_from(sorted(node)))]
            if isinstance(child, dict | list) and child:
                node = child
        elif isinstance(node, list) and node:
            child = node[draw(st.integers(0, len(node) - 1))]
            if isinstance(child, dict | list) and child:
                node = child
    if isinstance(node, dict) and node:
        node[draw(st.sampled_from(sorted(node)))] = draw(json_values)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return payload


# Strings jsonb cannot hold, or that are no name: NUL, other controls, lone surrogates.
hostile_text = st.text(
    alphabet=st.sampled_from(["a", "\x00", "\x01", "\n", "\ud800", "\udfff", "é", "\\"]),
    max_size=6,
)


@st.composite
def nested_bodies(draw: st.DrawFn) -> bytes:
    """An object nesting arrays/objects to a drawn depth, near and past the limits that
    matter (the 64 cap, psycopg's ~930, json's recursion limit)."""
    depth = draw(st.one_of(st.integers(1, 70), st.integers(900, 1000), st.integers(1000, 3000)))
    opener = draw(st.sampled_from(["[", '{"k":']))
    closer = "]" if opener == "[" else "}"
    return f'{{"title": "deep", "v": {opener * depth}1{closer * depth}}}'.encode()


hostile_bodies = st.one_of(
    st.dictionaries(hostile_text, hostile_text | json_values, max_size=4).map(
        lambda v: json.dumps(v).encode()
    ),
    mutated_fixtures().map(lambda v: json.dumps(v).encode()),
    nested_bodies(),
)

bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=12), json_values, max_size=6).map(
        lambda v: json.dumps(v).encode()
    ),
    mutated_fixtures().map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    hostile_bodies,
)

# ?definition= and ?source= with anything in them, NUL included (percent-encoded).
queries = st.one_of(
    st.just(""),
    st.tuples(st.sampled_from(["definition", "source"]), hostile_text | st.text(max_size=8)).map(
        lambda kv: f"{kv[0]}={quote(kv[1], errors='surrogatepass')}"
    ),
)

SETTINGS = hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def light_pipelines(settings) -> None:
    """Accepted requests run in-process; an ingest-only pipeline keeps the examples fast."""
    ingest_only_definition()
    settings.ALERTS_DEFAULT_PIPELINE = "ingest-only"
    settings.ALERTS_RATE_LIMIT_PER_MINUTE = 0


def with_query(path: str, query: str) -> str:
    if not query:
        return path
    return f"{path}{'&' if '?' in path else '?'}{query}"


def check(path: str, body: bytes, chunked: bool = False) -> None:
    before = row_counts()
    response = post_chunked(path, body) if chunked else post(path, raw=body)
    assert response.status_code < 500, (path, body, response.content)
    assert response["Content-Type"] == "application/json"
    data = response.json()
    if response.status_code == 202 or data.get("replayed"):
        assert PipelineRun.objects.filter(run_id=data["run_id"]).exists()
    else:
        # An unchanged re-push (noise control's change gate) writes no run either.
        assert "error" in data or data.get("status") in ("ignored", "unchanged"), data
        assert row_counts() == before, (path, body, response.status_code)


@SETTINGS
@given(path=st.sampled_from(PATHS[:8]), body=bodies, query=queries, chunked=st.booleans())
def test_source_paths_never_fail_or_half_write(
    light_pipelines, path: str, body: bytes, query: str, chunked: bool
) -> None:
    check(with_query(path, query), body, chunked)


@SETTINGS
@given(path=st.sampled_from(PATHS[8:]), body=bodies, query=queries, chunked=st.booleans())
def test_detecting_and_pipeline_paths_never_fail_or_half_write(
    light_pipelines, path: str, body: bytes, query: str, chunked: bool
) -> None:
    check(with_query(path, query), body, chunked)


@SETTINGS
@given(path=st.sampled_from(PATHS), body=hostile_bodies, query=queries, chunked=st.booleans())
def test_hostile_input_never_fails_or_half_writes(
    light_pipelines, path: str, body: bytes, query: str, chunked: bool
) -> None:
    check(with_query(path, query), body, chunked)
