"""Fixture loading shared by the alerts tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_paths() -> list[Path]:
    """Every payload fixture (not the ``.expected.json`` files next to them)."""
    return sorted(p for p in FIXTURES.glob("*/*.json") if not p.name.endswith(".expected.json"))


def load_fixture(source: str, event: str) -> dict[str, Any]:
    return json.loads((FIXTURES / source / f"{event}.json").read_text())


def load_expected(path: Path) -> Any:
    return json.loads(path.with_name(f"{path.stem}.expected.json").read_text())
