"""Update a ``.env`` file without losing what is in it, and without a half-written file.

Existing lines, comments and their order are kept (python-dotenv's own parser finds where each
assignment starts and ends, multi-line quoted values included); keys that already exist are
changed in place; new keys are appended under a ``# --- setup_instance: Generated <date> ---``
header. The new content goes to a temporary file in the same directory and replaces the old one
with one ``rename``, so a reader (or a crash) sees the old file or the new one, never a mix.

Values are written so python-dotenv (which the settings use, without ``${VAR}`` expansion)
reads back exactly the value given: plain when every character is safe, otherwise in single
quotes with ``\\`` and ``'`` escaped. Line breaks and NUL are refused: no .env reader agrees on
them.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

HEADER = "# --- setup_instance: Generated {date} ---"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_./:@,+=%~\[\]-]*\Z")
# A new .env will hold secrets (API keys, passwords): readable by its owner only.
NEW_FILE_MODE = 0o600


class EnvFileError(ValueError):
    """A key or value that cannot be written to a .env file."""


def format_value(value: str) -> str:
    """``value`` as python-dotenv must read it back; ``EnvFileError`` for line breaks/NUL."""
    if any(c in value for c in "\r\n\0"):
        raise EnvFileError("a .env value cannot contain line breaks or NUL characters")
    if _SAFE_VALUE.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(existing: str, updates: Mapping[str, str], *, today: datetime.date) -> str:
    """The new file content: ``existing`` with ``updates`` applied."""
    for key in updates:
        if not _KEY.match(key):
            raise EnvFileError(f"{key!r} is not a valid environment variable name")
    lines = {key: f"{key}={format_value(value)}" for key, value in updates.items()}
    out: list[str] = []
    seen: set[str] = set()
    for binding in parse_stream(io.StringIO(existing)):
        original = binding.original.string
        if binding.key in lines:
            # Every assignment of the key gets the new value: python-dotenv keeps the last one.
            seen.add(binding.key)
            body = original.lstrip()
            # The parser counts blank lines before an assignment as part of it: keep them.
            leading = original[: len(original) - len(body)]
            prefix = "export " if body.startswith("export") else ""
            out.append(leading + prefix + lines[binding.key] + "\n")
        else:
            out.append(original)
    text = "".join(out)
    new_keys = [key for key in updates if key not in seen]
    if new_keys:
        if text and not text.endswith("\n"):
            text += "\n"
        if text.strip():
            text += "\n"
        text += HEADER.format(date=today.isoformat()) + "\n"
        text += "".join(lines[key] + "\n" for key in new_keys)
    return text


def read_values(path: Path) -> dict[str, str]:
    """The variables ``path`` sets (empty when it does not exist), read as the settings do."""
    if not path.is_file():
        return {}
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {key: value for key, value in values.items() if value is not None}


@dataclass
class PendingEnvWrite:
    """New content waiting in a temporary file beside the target until ``commit``."""

    path: Path
    temp_path: Path
    previous: str | None  # the content replaced, None when the file did not exist
    committed: bool = False

    def commit(self) -> None:
        """Replace the file with the new content in one rename."""
        os.replace(self.temp_path, self.path)
        self.committed = True
        _sync_directory(self.path.parent)

    def discard(self) -> None:
        """Forget the new content (after a failure before ``commit``)."""
        self.temp_path.unlink(missing_ok=True)

    def restore(self) -> None:
        """Put the previous content back (after a failure after ``commit``)."""
        if not self.committed:
            self.discard()
            return
        if self.previous is None:
            self.path.unlink(missing_ok=True)
        else:
            prepare_content(self.path, self.previous).commit()
        self.committed = False


def prepare(path: Path, updates: Mapping[str, str]) -> PendingEnvWrite:
    """Write the updated content of ``path`` to a temporary file; nothing changes yet."""
    path = _target(path)
    if path.exists() and not path.is_file():
        raise EnvFileError(f"{path} exists and is not a file")
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    content = render(previous or "", updates, today=datetime.date.today())
    pending = prepare_content(path, content)
    pending.previous = previous
    return pending


def prepare_content(path: Path, content: str) -> PendingEnvWrite:
    path = _target(path)
    if path.exists() and not path.is_file():
        raise EnvFileError(f"{path} exists and is not a file")
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, mode)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return PendingEnvWrite(path=path, temp_path=temp_path, previous=None)


def write(path: Path, updates: Mapping[str, str]) -> None:
    """Apply ``updates`` to ``path`` atomically (the seed's ``_write_env``)."""
    pending = prepare(path, updates)
    try:
        pending.commit()
    except BaseException:
        pending.discard()
        raise


def _target(path: Path) -> Path:
    # A .env symlinked to a shared config keeps being a symlink: the rename replaces its target.
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        # Some filesystems cannot fsync a directory; the rename itself has happened anyway.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
