"""The .env file: loaded by every process's settings, never over the real environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from project.envfile import BASE_DIR, env_file_path, load_env_file

ROOT = Path(__file__).resolve().parents[2]


def test_the_file_fills_in_unset_variables_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nAP_TEST_ONLY_IN_FILE=from-file\nAP_TEST_IN_BOTH=from-file\n")
    monkeypatch.delenv("AP_TEST_ONLY_IN_FILE", raising=False)
    monkeypatch.setenv("AP_TEST_IN_BOTH", "from-environment")

    assert load_env_file(env) == env
    assert os.environ["AP_TEST_ONLY_IN_FILE"] == "from-file"
    assert os.environ["AP_TEST_IN_BOTH"] == "from-environment"
    monkeypatch.delenv("AP_TEST_ONLY_IN_FILE")


def test_values_are_taken_literally_without_variable_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("AP_TEST_SECRET='pa$${HOME}\\'s'\n")
    monkeypatch.delenv("AP_TEST_SECRET", raising=False)
    load_env_file(env)
    assert os.environ["AP_TEST_SECRET"] == "pa$${HOME}'s"
    monkeypatch.delenv("AP_TEST_SECRET")


def test_a_missing_file_loads_nothing(tmp_path: Path) -> None:
    assert load_env_file(tmp_path / "absent.env") is None


def test_dotenv_path_names_the_file_relative_to_the_project_or_turns_loading_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOTENV_PATH", "config/site.env")
    assert env_file_path() == BASE_DIR / "config" / "site.env"
    monkeypatch.setenv("DOTENV_PATH", str(tmp_path / "x.env"))
    assert env_file_path() == tmp_path / "x.env"
    monkeypatch.setenv("DOTENV_PATH", "none")
    assert env_file_path() is None


def test_under_pytest_no_file_is_read_unless_dotenv_path_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOTENV_PATH", raising=False)
    assert os.environ.get("PYTEST_VERSION")
    assert env_file_path() is None
    monkeypatch.delenv("PYTEST_VERSION")
    assert env_file_path() == BASE_DIR / ".env"


def _setting(name: str, env: dict[str, str]) -> str:
    code = f"from django.conf import settings; print(settings.{name})"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_manage_py_settings_read_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=8123\nFLOWER_PORT=5678\n")
    base = {k: v for k, v in os.environ.items() if k not in ("PORT", "FLOWER_PORT")}
    base["DOTENV_PATH"] = str(env_file)

    assert _setting("PORT", base) == "8123"
    assert _setting("FLOWER_PORT", base) == "5678"
    assert _setting("PORT", {**base, "PORT": "9001"}) == "9001"
