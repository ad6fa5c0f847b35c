"""Declarative tests on a run's data, for ``condition`` nodes and ``skip_if_condition``.

No ``eval``: a test is data. Forms:

- ``{"path": "ingest.severity", "op": "in", "value": ["critical"]}``
- ``{"all": [test, ...]}``, ``{"any": [test, ...]}``, ``{"not": test}``

Paths start with a node id (its output), or ``payload.`` / ``run.`` for the run's input.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from apps.orchestration.paths import MISSING, get_path


def _contains(left: Any, right: Any) -> bool:
    return isinstance(left, str | list | dict) and right in left


def _ordered(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        try:
            return bool(fn(left, right))
        except TypeError:  # comparing None or mixed types is simply "no match"
            return False

    return compare


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "in": lambda left, right: isinstance(right, list) and left in right,
    "not_in": lambda left, right: isinstance(right, list) and left not in right,
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "contains": _contains,
    "exists": lambda left, right: left is not MISSING and left is not None,
    "not_exists": lambda left, right: left is MISSING or left is None,
    "truthy": lambda left, right: left is not MISSING and bool(left),
    "falsy": lambda left, right: left is MISSING or not left,
}
UNARY = {"exists", "not_exists", "truthy", "falsy"}


def evaluate(test: dict[str, Any], data: dict[str, Any]) -> bool:
    """True when ``test`` holds for ``data`` (node outputs plus ``payload``/``run``)."""
    if "all" in test:
        return all(evaluate(t, data) for t in test["all"])
    if "any" in test:
        return any(evaluate(t, data) for t in test["any"])
    if "not" in test:
        return not evaluate(test["not"], data)
    left = get_path(data, test["path"], MISSING)
    op = OPERATORS[test.get("op", "eq")]
    if left is MISSING and test.get("op", "eq") not in UNARY:
        return False
    return op(left, test.get("value"))


def validate(test: Any, where: str = "condition") -> list[str]:
    """Problems with a test's shape, as messages."""
    if not isinstance(test, dict):
        return [f"{where} must be an object"]
    for combinator in ("all", "any"):
        if combinator in test:
            items = test[combinator]
            if not isinstance(items, list) or not items:
                return [f"{where}.{combinator} must be a non-empty list"]
            errors: list[str] = []
            for i, item in enumerate(items):
                errors += validate(item, f"{where}.{combinator}[{i}]")
            return errors
    if "not" in test:
        return validate(test["not"], f"{where}.not")
    errors = []
    if not isinstance(test.get("path"), str) or not test.get("path"):
        errors.append(f"{where} needs a 'path' string")
    op = test.get("op", "eq")
    if not isinstance(op, str) or op not in OPERATORS:
        errors.append(f"{where} has unknown op {op!r}. Available: {sorted(OPERATORS)}")
    elif op in {"in", "not_in"} and not isinstance(test.get("value"), list):
        errors.append(f"{where} op {op!r} needs a list 'value'")
    elif op not in UNARY and "value" not in test:
        errors.append(f"{where} op {op!r} needs a 'value'")
    return errors


def data_for(previous_outputs: dict[str, Any], payload: Any, run: dict[str, Any]) -> dict:
    """The namespace tests read: node outputs by id, plus the run's payload and metadata."""
    return {**previous_outputs, "payload": payload, "run": run}
