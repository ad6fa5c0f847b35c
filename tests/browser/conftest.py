"""The admin in a real browser: Debian's chromium driven by Playwright, against a real
gunicorn (whitenoise, the manifest storage) on the test PostgreSQL and a real Celery worker
on the test Redis. One browser, one server and one worker for the whole module.

A missing chromium fails these tests (CI installs it with apt); they never skip.
Screenshots of every page go to ``$ARTIFACTS_DIR/screenshots`` (default
``var/screenshots``), printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support import worker
from tests.support.services import redis_url
from tests.support.sink import CountingSink
from tests.support.web import ROOT, WebServer, gunicorn

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "var") / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOTS.exists() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium", False)
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def _orm_beside_playwright(stack: WebServer) -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the tests' own ORM calls (and
    the database flush between them) are still plain synchronous code, which Django refuses
    inside a running loop unless told. Only while this module's browser runs, and after its
    servers started: no other process inherits it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(
    _orm_beside_playwright: None, browser_type_launch_args: dict[str, Any]
) -> Iterator[Browser]:
    """One chromium for the module. pytest-playwright's own browser lives for the whole
    session, and so would its event loop, in the thread every later test uses: this one
    stops with the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**browser_type_launch_args)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def sink() -> Iterator[CountingSink]:
    receiver = CountingSink()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stack(
    django_db_setup: Any,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    static_root: Path,
) -> Iterator[WebServer]:
    """gunicorn and a Celery worker (every queue) on the test database and Redis."""
    redis.Redis.from_url(redis_url()).flushdb()  # the test Redis database only
    with django_db_blocker.unblock():
        database_url = worker.test_database_url()
    tmp = tmp_path_factory.mktemp("browser-stack")
    env = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url(),
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "INFO",
        "AXES_FAILURE_LIMIT": "5",
    }
    with (
        worker.celery_worker(tmp, concurrency=2),
        gunicorn(tmp, static_root, env, workers=2) as server,
    ):
        yield server
