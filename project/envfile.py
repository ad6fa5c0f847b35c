"""The ``.env`` file at the project root: where it is, and loading it into the environment.

Every process (manage.py, gunicorn, celery worker/beat/flower) loads it through the settings
module, so what ``setup_instance`` writes there takes effect at the next start. Variables
already in the environment win: a deployment's real environment (systemd, docker compose)
must never be overridden by a file someone left in the checkout.

``DOTENV_PATH`` names another file (absolute, or relative to the project root), or ``none``
to load no file. Under pytest no file is loaded unless ``DOTENV_PATH`` is set, so a
developer's own ``.env`` cannot change what the tests see.

Values are taken literally (no ``${VAR}`` expansion): a generated secret that happens to
contain ``${`` must reach the service unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
PATH_VARIABLE = "DOTENV_PATH"
_DISABLED = {"none", "off"}


def env_file_path(base_dir: Path = BASE_DIR) -> Path | None:
    """The ``.env`` file this process reads (it may not exist yet), or None when off."""
    raw = os.environ.get(PATH_VARIABLE, "").strip()
    if raw:
        if raw.lower() in _DISABLED:
            return None
        path = Path(raw).expanduser()
        return path if path.is_absolute() else base_dir / path
    if os.environ.get("PYTEST_VERSION"):
        # Set by pytest for the whole session (and inherited by the processes tests start).
        return None
    return base_dir / ".env"


def load_env_file(path: Path | None = None) -> Path | None:
    """Put the file's variables into ``os.environ`` without overriding any already set.

    Returns the file loaded, or None when loading is off or the file does not exist.
    """
    path = path if path is not None else env_file_path()
    if path is None or not path.is_file():
        return None
    load_dotenv(path, override=False, interpolate=False, encoding="utf-8")
    return path
