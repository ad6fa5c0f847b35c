"""Admin login throttling with django-axes: after ``AXES_FAILURE_LIMIT`` wrong passwords a
login is refused (429) for ``AXES_COOLOFF_MINUTES``, even with the right password (settings in
project/settings.py; ``python manage.py axes_reset`` releases a lockout early).
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for every login made over HTTP (admin, REST framework).

    ``authenticate()`` without a request (the test client's ``login()``, scripts) is no
    HTTP login attempt and has no address to count against, so it passes to the next
    backend instead of raising as axes' own backend does.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
