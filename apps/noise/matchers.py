"""Silence matchers, Alertmanager style: ``name=value``, ``name!=value``, ``name=~regex``,
``name!~regex`` (pure: no database).

``name`` is ``source``, ``severity``, ``host`` or ``alertname`` (the alert's name), else a
label of the alert. ``host`` is the alert's ``host``, ``hostname``, ``host_name`` or
``instance`` label (an ``instance`` without its ``:port``). A missing label is the empty
string. Regexes match the whole value (anchored), as in Alertmanager. A silence needs at
least one matcher that cannot match an empty value, so no silence mutes everything by
accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

OPS = ("=~", "!~", "!=", "=")
SPECIAL_NAMES = ("source", "severity", "host", "alertname")
HOST_LABELS = ("host", "hostname", "host_name", "instance")
MAX_VALUE_LENGTH = 1024
_NAME = r"[^\s=!~\"]+"
_TEXT_RE = re.compile(rf"^\s*({_NAME})\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class MatcherError(ValueError):
    """A matcher that cannot be used (bad syntax, bad regex, a value too long)."""


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class Subject:
    """What a silence looks at in an alert."""

    source: str
    severity: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        for key in HOST_LABELS:
            value = self.labels.get(key)
            if value:
                # Prometheus's instance is host:port; silences name the host.
                return value.rsplit(":", 1)[0] if key == "instance" and ":" in value else value
        return ""

    def value(self, name: str) -> str:
        if name == "source":
            return self.source
        if name == "severity":
            return self.severity
        if name == "host":
            return self.host
        if name == "alertname":
            return self.name or self.labels.get("alertname", "")
        return str(self.labels.get(name, ""))


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise MatcherError(f"unknown operator {self.op!r}: use one of {', '.join(OPS)}")
        if not self.name or not re.fullmatch(_NAME, self.name):
            raise MatcherError(f"invalid matcher name {self.name!r}")
        if len(self.value) > MAX_VALUE_LENGTH:
            raise MatcherError(f"{self.name}: value longer than {MAX_VALUE_LENGTH} characters")
        if self.op in ("=~", "!~"):
            try:
                _compiled(self.value)
            except re.error as exc:
                raise MatcherError(f"{self.name}: invalid regex {self.value!r}: {exc}") from None

    def matches(self, subject: Subject) -> bool:
        actual = subject.value(self.name)
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = _compiled(self.value).fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    @property
    def matches_empty(self) -> bool:
        return self.matches(Subject(source="", severity="", name="", labels={}))

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}

    @classmethod
    def from_dict(cls, data: Any) -> Matcher:
        if not isinstance(data, dict) or not {"name", "op", "value"} <= set(data):
            raise MatcherError(f"a matcher is an object with name, op and value, got {data!r}")
        values = [data["name"], data["op"], data["value"]]
        if not all(isinstance(v, str) for v in values):
            raise MatcherError("a matcher's name, op and value must be strings")
        return cls(*values)


def parse(text: str) -> Matcher:
    """``'severity=critical'``, ``'host=~"web-.*"'`` (quotes optional) → a ``Matcher``."""
    match = _TEXT_RE.match(text or "")
    if match is None:
        raise MatcherError(
            f"cannot read matcher {text!r}: write name=value, name!=value, name=~regex "
            "or name!~regex"
        )
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return Matcher(name, op, value)


def parse_all(texts: list[str]) -> list[Matcher]:
    matchers = [parse(t) for t in texts if t.strip()]
    check(matchers)
    return matchers


def from_json(data: Any) -> list[Matcher]:
    if not isinstance(data, list):
        raise MatcherError("matchers must be a list")
    matchers = [Matcher.from_dict(item) for item in data]
    check(matchers)
    return matchers


def check(matchers: list[Matcher]) -> None:
    """A silence's matchers as a whole: at least one, and one that cannot match nothing."""
    if not matchers:
        raise MatcherError("a silence needs at least one matcher")
    if all(m.matches_empty for m in matchers):
        raise MatcherError(
            "at least one matcher must not match an empty value (a silence would otherwise "
            "mute every alert)"
        )


def matches_all(matchers: list[Matcher], subject: Subject) -> bool:
    return all(m.matches(subject) for m in matchers)


def describe(matchers: list[Matcher]) -> str:
    return ", ".join(str(m) for m in matchers)
