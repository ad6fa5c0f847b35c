"""WSGI entry point (gunicorn project.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

# Without a broker the pipelines run on this process's threads: start them (and the recovery
# sweep that picks up runs an earlier process left unfinished) with the server.
from apps.orchestration.inprocess import start_if_embedded  # noqa: E402

start_if_embedded()
