"""Property test: whatever arrives at any API endpoint, the answer is never a 5xx.

Hypothesis generates wrong types, nulls, huge and NUL-laden strings, odd names, deep nesting,
non-finite numbers and bytes that are not JSON, for every endpoint and method. Every answer
is JSON; every refusal is a 4xx whose ``error`` says what is wrong, and none of them is the
database refusing a value the serializers should have caught.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.alerts.models import Incident
from apps.noise import silences
from apps.noise.matchers import parse_all
from apps.notify.models import NotificationChannel
from apps.orchestration.schedules import create_schedule
from apps.orchestration.tests.helpers import definition

pytestmark = pytest.mark.django_db(transaction=True)

NODES = [{"id": "a", "type": "transform", "config": {"source_node": "payload"}}]

# (method, path with {name}, the fields its body knows)
ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("get", "/orchestration/definitions/", ()),
    ("post", "/orchestration/definitions/", ("name", "description", "config", "tags", "is_active")),
    ("get", "/orchestration/definitions/{name}/", ()),
    ("put", "/orchestration/definitions/{name}/", ("description", "config", "tags", "is_active")),
    ("patch", "/orchestration/definitions/{name}/", ("description", "config", "tags", "is_active")),
    ("delete", "/orchestration/definitions/{name}/", ()),
    ("post", "/orchestration/definitions/{name}/validate/", ()),
    ("post", "/orchestration/definitions/{name}/dry-run/", ()),
    (
        "post",
        "/orchestration/definitions/{name}/execute/",
        ("payload", "source", "trace_id", "environment", "incident_id", "wait"),
    ),
    ("get", "/orchestration/runs/", ()),
    ("get", "/orchestration/runs/{name}/", ()),
    ("post", "/orchestration/runs/{name}/retry/", ()),
    ("post", "/orchestration/runs/{name}/cancel/", ()),
    ("get", "/orchestration/schedules/", ()),
    ("post", "/orchestration/schedules/", ("definition", "every", "cron", "name", "enabled")),
    ("get", "/orchestration/schedules/{name}/", ()),
    ("patch", "/orchestration/schedules/{name}/", ("enabled",)),
    ("delete", "/orchestration/schedules/{name}/", ()),
    ("get", "/notify/drivers/", ()),
    ("get", "/notify/channels/", ()),
    ("post", "/notify/channels/", ("name", "driver", "config", "is_active", "description")),
    ("get", "/notify/channels/{name}/", ()),
    ("patch", "/notify/channels/{name}/", ("driver", "config", "is_active", "description")),
    ("put", "/notify/channels/{name}/", ("driver", "config", "is_active", "description")),
    ("delete", "/notify/channels/{name}/", ()),
    ("post", "/notify/channels/{name}/test/", ("title", "message", "severity")),
    ("get", "/alerts/incidents/", ()),
    ("get", "/alerts/incidents/{name}/", ()),
    ("post", "/alerts/incidents/{name}/acknowledge/", ()),
    ("post", "/alerts/incidents/{name}/resolve/", ()),
    ("post", "/alerts/incidents/{name}/close/", ()),
    ("get", "/alerts/incidents/{name}/trace/", ()),
    ("get", "/orchestration/runs/{name}/trace/", ()),
    ("get", "/alerts/silences/", ()),
    (
        "post",
        "/alerts/silences/",
        ("matchers", "comment", "created_by", "starts_at", "ends_at", "duration"),
    ),
    ("get", "/alerts/silences/{name}/", ()),
    ("patch", "/alerts/silences/{name}/", ("ends_at", "comment")),
    ("delete", "/alerts/silences/{name}/", ()),
]

nasty_text = st.one_of(
    st.text(max_size=20),
    st.text(max_size=5).map(lambda t: t + "\x00" + t),
    st.just("x" * 5000),
    st.sampled_from(["", " ", "a/b", "..", "%00", "ops", "slack", "5m", "* * * * *", "1"]),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty_text,
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=12,
)
configs = st.fixed_dictionaries(
    {"version": st.just("1"), "nodes": st.lists(st.dictionaries(st.sampled_from(
        ["id", "type", "config", "next", "required", "queue", "skip_if_errors"]
    ), json_values, max_size=5), max_size=3)}
)  # fmt: skip
names = st.one_of(
    st.sampled_from(["p", "nope", "c", "1", "999999", "p every 5m", "default-alert-pipeline"]),
    nasty_text,
)


def body_for(fields: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    field_values = st.one_of(json_values, configs) if "config" in fields else json_values
    known = (
        st.dictionaries(st.sampled_from(fields), field_values, max_size=len(fields))
        if fields
        else st.just({})
    )
    return st.one_of(
        known.map(lambda v: json.dumps(v).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(
            [
                b"",
                b"{",
                b"[" * 3000,
                b'{"a": NaN}',
                b'{"a": 1e999}',
                b"\xff\xfe\x00",
                b'{"name": "p", "config": {"version": "1", "nodes": []}, "x": Infinity}',
            ]
        ),
        st.binary(max_size=64),
    )


queries = st.dictionaries(
    st.sampled_from(["status", "definition", "source", "incident", "since", "until", "page",
                     "page_size", "active", "severity", "state", "limit"]),
    nasty_text, max_size=3,
)  # fmt: skip

SETTINGS = hypothesis_settings(
    # Bounded in CI; API_FUZZ_EXAMPLES=2000 for a longer local hunt (bench/fuzz_api.py for 10k).
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(api) -> Any:
    """Something for every path to find: a definition, a channel, an incident, a schedule."""
    definition("p", NODES)
    NotificationChannel.objects.create(
        name="c", driver="generic", config={"endpoint_url": "http://127.0.0.1:9/closed"}
    )
    Incident.objects.create(title="t", source="generic", group_key="g")
    create_schedule("p", every="5m")
    silences.create(
        parse_all(["host=db-1"]), created_by="t", comment="t", duration=timedelta(hours=1)
    )
    return api


def check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code == 204:
        return
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    data = response.json()
    if response.status_code >= 400:
        assert isinstance(data.get("error"), str) and data["error"], data
        # The serializers, not the database, must be the ones that refuse bad input.
        assert not data["error"].startswith("The database refused"), data


def request(client: Any, method: str, path: str, body: bytes, query: dict[str, str]) -> Any:
    if query and method == "get":
        path += "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, content_type="application/json")


def _fill(template: str, name: str) -> str:
    # Quoted like a client would (a "/" inside a name stays inside the segment).
    return template.replace("{name}", quote(name, safe=""))


@SETTINGS
@given(data=st.data())
def test_no_endpoint_answers_5xx_to_anything(world, data) -> None:
    method, template, fields = data.draw(st.sampled_from(ENDPOINTS))
    path = _fill(template, data.draw(names))
    check(request(world.admin, method, path, data.draw(body_for(fields)), data.draw(queries)))


@SETTINGS
@given(data=st.data())
def test_definition_writes_never_answer_5xx(world, data) -> None:
    method, template, fields = data.draw(
        st.sampled_from([e for e in ENDPOINTS if e[2] and "definitions" in e[1]])
    )
    path = _fill(template, data.draw(st.sampled_from(["p", "nope"])))
    check(request(world.admin, method, path, data.draw(body_for(fields)), {}))


@SETTINGS
@given(data=st.data())
def test_channel_and_schedule_writes_never_answer_5xx(world, data) -> None:
    method, template, fields = data.draw(
        st.sampled_from([e for e in ENDPOINTS if e[2] and "definitions" not in e[1]])
    )
    path = _fill(template, data.draw(st.sampled_from(["c", "p every 5m", "nope"])))
    check(request(world.admin, method, path, data.draw(body_for(fields)), {}))
