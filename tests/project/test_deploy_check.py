"""``manage.py check --deploy`` is clean with DJANGO_DEBUG=0 and the TLS settings documented
in docs/security.md, and plain HTTP is redirected except where it must not be."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]

DOCUMENTED_TLS = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOW_DEV_SECRET": "0",
    "DJANGO_BEHIND_TLS_PROXY": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
}


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_tls_settings() -> None:
    result = deploy_check(**DOCUMENTED_TLS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr.upper()


def test_check_deploy_warns_without_them() -> None:
    # The control: the same check does complain when HTTPS is not enforced.
    result = deploy_check(DJANGO_DEBUG="0", DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_HSTS_SECONDS="0")

    assert result.returncode != 0
    assert "security.W008" in result.stderr
    assert "security.W004" in result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_except_the_healthcheck(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/admin/login/").status_code == 301
    assert Client().get("/healthz").status_code == 200
