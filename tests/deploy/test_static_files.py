"""The admin is styled under gunicorn as deployed: whitenoise serves the collected, hashed
and compressed static files with long cache headers, and no proxy is needed."""

from __future__ import annotations

import gzip
import re
import urllib.request
from pathlib import Path

import pytest

from tests.support.web import gunicorn

pytestmark = pytest.mark.integration


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_gunicorn_serves_the_admin_css_hashed_compressed_and_cached(
    tmp_path: Path, static_root: Path
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "PIPELINE_EMBEDDED_EXECUTION": "inline",
    }
    with gunicorn(tmp_path, static_root, env, workers=1) as server:
        status, _, page = fetch(f"{server.url}/admin/login/")
        assert status == 200
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.decode())
        assert css, "the login page links the hashed admin stylesheet"

        status, headers, body = fetch(server.url + css.group(1), **{"Accept-Encoding": "gzip"})

    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert headers.get("Content-Encoding") == "gzip"
    assert b"--body-fg" in gzip.decompress(body)
    assert "immutable" in headers["Cache-Control"]


def test_the_json_editor_assets_are_collected_for_offline_use(static_root: Path) -> None:
    manifest = (static_root / "staticfiles.json").read_text()
    assert "dist/jsoneditor.min.js" in manifest
    assert "dist/img/jsoneditor-icons.svg" in manifest
