"""The .env writer: lines and comments kept, values read back exactly, one rename."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import given
from hypothesis import strategies as st

from apps.orchestration.setup_wizard import envwriter
from apps.orchestration.setup_wizard.envwriter import EnvFileError, format_value, render

TODAY = datetime.date(2026, 2, 19)


def read_back(text: str, tmp_path: Path) -> dict[str, str | None]:
    path = tmp_path / "check.env"
    path.write_text(text, encoding="utf-8")
    return dotenv_values(path, interpolate=False, encoding="utf-8")


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n\0", codec="utf-8")))
def test_every_value_reads_back_exactly_as_written(tmp_path_factory, value: str) -> None:
    tmp_path = tmp_path_factory.mktemp("env")
    text = render("", {"KEY": value}, today=TODAY)
    assert read_back(text, tmp_path)["KEY"] == value


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain-value_1.2", "plain-value_1.2"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("alertmanager=full,grafana=full", "alertmanager=full,grafana=full"),
        ("", ""),
        ("has space", "'has space'"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("${HOME} #not-a-comment", "'${HOME} #not-a-comment'"),
    ],
)
def test_safe_values_stay_plain_and_others_are_single_quoted(value: str, written: str) -> None:
    assert format_value(value) == written


@pytest.mark.parametrize("value", ["two\nlines", "cr\r", "nul\0"])
def test_line_breaks_and_nul_are_refused(value: str) -> None:
    with pytest.raises(EnvFileError, match="line breaks or NUL"):
        format_value(value)


def test_invalid_keys_are_refused() -> None:
    with pytest.raises(EnvFileError, match="not a valid environment variable name"):
        render("", {"BAD-KEY": "x"}, today=TODAY)


def test_existing_lines_comments_and_order_are_kept(tmp_path: Path) -> None:
    existing = (
        "# Database\n"
        "DATABASE_URL=postgres://db/app   # inline comment\n"
        "\n"
        "export CHECKERS_SKIP=swap\n"
        "MULTI='first\nsecond'\n"
        "this line is not an assignment\n"
        "CHECKERS_SKIP=load\n"
        "LAST=1"
    )
    text = render(existing, {"CHECKERS_SKIP": "inodes", "NEW": "v"}, today=TODAY)
    assert text == (
        "# Database\n"
        "DATABASE_URL=postgres://db/app   # inline comment\n"
        "\n"
        "export CHECKERS_SKIP=inodes\n"
        "MULTI='first\nsecond'\n"
        "this line is not an assignment\n"
        "CHECKERS_SKIP=inodes\n"
        "LAST=1\n"
        "\n"
        "# --- setup_instance: Generated 2026-02-19 ---\n"
        "NEW=v\n"
    )
    values = read_back(text, tmp_path)
    assert values["CHECKERS_SKIP"] == "inodes"
    assert values["MULTI"] == "first\nsecond"


def test_only_updating_existing_keys_adds_no_header() -> None:
    assert render("A=1\n", {"A": "2"}, today=TODAY) == "A=2\n"


def test_write_replaces_the_file_in_one_rename_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    path.chmod(0o640)
    inode = path.stat().st_ino
    envwriter.write(path, {"B": "2"})
    assert path.read_text().endswith("B=2\n")
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the operator's permissions are kept
    assert [p.name for p in tmp_path.iterdir()] == [".env"]


def test_a_new_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    envwriter.write(path, {"OPENAI_API_KEY": "sk-secret"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlinked_env_file_stays_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "shared.env"
    target.write_text("A=1\n")
    link = tmp_path / ".env"
    link.symlink_to(target)
    envwriter.write(link, {"A": "2"})
    assert link.is_symlink()
    assert target.read_text() == "A=2\n"


def test_prepare_changes_nothing_until_commit_and_restore_puts_the_old_file_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    pending = envwriter.prepare(path, {"A": "2"})
    assert path.read_text() == "A=1\n"
    pending.commit()
    assert path.read_text() == "A=2\n"
    pending.restore()
    assert path.read_text() == "A=1\n"
    assert sorted(os.listdir(tmp_path)) == [".env"]


def test_restore_removes_a_file_that_did_not_exist_before(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    pending = envwriter.prepare(path, {"A": "2"})
    pending.commit()
    pending.restore()
    assert not path.exists()


def test_a_directory_where_the_file_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    with pytest.raises(EnvFileError, match="is not a file"):
        envwriter.prepare(tmp_path / ".env", {"A": "1"})
