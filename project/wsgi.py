"""WSGI entry point (gunicorn project.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from project.redaction import without_secrets_in_logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Query-string secrets (?token=) are masked before gunicorn writes its access log.
application = without_secrets_in_logs(get_wsgi_application())

# Without a broker the pipelines run on this process's threads: start them (and the recovery
# sweep that picks up runs an earlier process left unfinished) with the server.
from apps.orchestration.inprocess import start_if_embedded  # noqa: E402

start_if_embedded()

# What the first webhook would otherwise pay for (over a second: the AI SDKs the provider
# registry imports, to validate definitions): import it while the server starts.
import apps.intelligence.providers  # noqa: E402, F401
import apps.orchestration.nodes  # noqa: E402, F401
