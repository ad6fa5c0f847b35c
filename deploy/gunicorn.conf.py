"""gunicorn settings for ``make web`` and the Procfile's web process.

The port comes from the Django settings (``PORT``, from the environment or ``.env``; honcho
sets ``PORT`` for the process it starts). Production (compose, systemd) binds explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.conf import settings  # noqa: E402 - needs DJANGO_SETTINGS_MODULE

bind = [f"127.0.0.1:{settings.PORT}"]
workers = 2
accesslog = "-"
# POST .../execute/ waits up to 60 s for a run (`wait`); the default 30 s would kill the worker.
timeout = 75
