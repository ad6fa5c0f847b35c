"""Admin login throttling (django-axes): a lockout after AXES_FAILURE_LIMIT wrong passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def admin_user(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)


def login(client: Client, password: str, address: str = "198.51.100.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": password},
        REMOTE_ADDR=address,
    )


def logged_in(client: Client) -> bool:
    return client.get("/admin/", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_right_password_logs_in() -> None:
    client = Client()
    assert login(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_after_the_failure_limit_the_right_password_is_refused() -> None:
    client = Client()
    answers = [login(client, f"wrong-{i}").status_code for i in range(5)]

    response = login(client, PASSWORD)

    assert answers == [200, 200, 200, 200, 429]  # the form again, then the lockout
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert not logged_in(client)
    # The attempt is recorded without the password.
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "admin"
    assert PASSWORD not in attempt.post_data


def test_a_lockout_holds_one_account_from_one_address_only() -> None:
    # The default (AXES_LOCK_OUT_BY=username_and_ip): the operator elsewhere still gets in.
    for i in range(5):
        login(Client(), f"wrong-{i}")

    elsewhere = Client()
    assert login(elsewhere, PASSWORD, address="203.0.113.9").status_code == 302


def test_the_lockout_ends_after_the_cool_off(settings) -> None:
    for i in range(5):
        login(Client(), f"wrong-{i}")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert login(Client(), PASSWORD).status_code == 302


def test_the_test_clients_login_still_works() -> None:
    # authenticate() without a request is no HTTP login: not throttled, not an error.
    assert Client().login(username="admin", password=PASSWORD) is True
