"""Django settings, all read from the environment (see .env.example for every variable)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from project.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_mapping,
    env_str,
    parse_database_url,
)
from project.envfile import load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
# Before any setting is read: the .env file fills in what the environment does not set.
ENV_FILE = load_env_file()

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or (
    # A fixed development key only when debugging; production must set one.
    "insecure-dev-key-change-me" if DEBUG or env_bool("DJANGO_ALLOW_DEV_SECRET", True) else ""
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
# Behind a proxy that terminates TLS: the admin's https origins, and trust X-Forwarded-Proto.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
# HTTPS only (docs/security.md, "Deploying with TLS"): redirect plain HTTP, and HSTS. Off by
# default: both break a deployment that is not behind TLS, and HSTS cannot be taken back.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Paths answered over plain HTTP anyway (regexes on the path without its leading slash):
# the container healthcheck, and any internal sender listed here.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", *env_list("DJANGO_SECURE_REDIRECT_EXEMPT")]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    # django.contrib.admin with the operator's dashboard as its index (apps/monitoring).
    "apps.monitoring.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The definition editor's assets (jsoneditor: highlighting, JSON Schema validation), served
    # from our own static files: the admin works offline, nothing is fetched from a CDN.
    "django_json_widget",
    "axes",
    "apps.alerts",
    "apps.checkers",
    "apps.intelligence",
    "apps.notify",
    "apps.orchestration",
    "apps.noise",
    "apps.monitoring.apps.MonitoringConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware (whitenoise's rule): the admin's CSS and JS are served by
    # every web process, compressed and cached, with no proxy needed (docs/operations.md).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: refuses logins while an address/account is locked out.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "project.login_throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Admin login throttling (django-axes; project/login_throttle.py) -----------------------------
# What a failure counts against. "username_and_ip" (default) locks one account from one
# address, so an attacker elsewhere cannot lock the real operator out.
_LOCK_OUT_BY = {
    "username_and_ip": [["username", "ip_address"]],
    "ip": ["ip_address"],
    "username": ["username"],
    "username_or_ip": ["username", "ip_address"],
}
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = _LOCK_OUT_BY[
    env_choice("AXES_LOCK_OUT_BY", tuple(_LOCK_OUT_BY), "username_and_ip")
]
# A successful login forgets earlier failures: a typo a day never adds up to a lockout.
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password"]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", "sqlite:///db.sqlite3"),
        BASE_DIR,
    )
}
if env_str("DATABASE_TEST_NAME"):
    # Lets two test runs share one PostgreSQL server without clobbering each other.
    DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the webhook write while a worker reads; a busy timeout instead of "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # Tests on a file too, as the embedded default runs: Django's in-memory test database
    # shares one cache between connections, where a reader meets "database table is locked"
    # at once instead of waiting out the busy timeout (the embedded runner's threads did).
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME",
        str(BASE_DIR / "test-db.sqlite3"),  # ignored by git (*.sqlite3)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "var" / "static")
# collectstatic writes content-hashed names plus gzip copies; whitenoise serves hashed files
# with a year-long immutable cache header, so a new release never meets a stale stylesheet.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Local stack (make up) ----------------------------------------------------------------------
# Ports of the web process and Flower; deploy/stack.py hands them to honcho's processes.
PORT = env_int("PORT", 8000, minimum=1)
FLOWER_PORT = env_int("FLOWER_PORT", 5555, minimum=1)

# --- API and webhooks -------------------------------------------------------------------------
API_AUTH_REQUIRED = env_bool("API_AUTH_REQUIRED", True)
# Bootstrap keys (admin scope); keys made with `manage.py create_api_key` are stored hashed.
API_KEYS = env_list("API_KEYS")
# Deeper JSON is refused with 400: PostgreSQL's driver recurses per level when it stores it.
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 64, minimum=2)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.orchestration.api.auth.ApiKeyAuthentication",
        # The admin's own calls: CSRF stays enforced for them.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.orchestration.api.auth.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["apps.orchestration.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.orchestration.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "alertpipes API",
    "DESCRIPTION": "Pipeline definitions, runs, notification channels, incidents and "
    "schedules. Authenticate with `Authorization: Api-Key <key>`; see docs/api.md.",
    "VERSION": "1.0.0",
    # 3.1 schemas are JSON Schema 2020-12: the pipeline schema is embedded as it is published.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "apps.orchestration.models.RunStatus",
        "StageStatusEnum": "apps.orchestration.models.StageStatus",
        "IncidentStatusEnum": "apps.alerts.models.Incident.Status",
        "AlertStatusEnum": "apps.alerts.models.ALERT_STATUS_CHOICES",
        "SeverityEnum": "apps.alerts.models.SEVERITY_CHOICES",
    },
}
ALERTS_WEBHOOK_TOKEN = env_str("ALERTS_WEBHOOK_TOKEN")
ALERTS_WEBHOOK_HMAC_SECRET = env_str("ALERTS_WEBHOOK_HMAC_SECRET")
# A v1 signature's timestamp may be this far from now; it is remembered twice as long.
ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = env_int(
    "ALERTS_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS", 300, minimum=1
)
# Sources whose path accepts the replayable body-only HMAC (sha256=); empty = none.
ALERTS_WEBHOOK_BODY_HMAC_SOURCES = env_list("ALERTS_WEBHOOK_BODY_HMAC_SOURCES")
# ?token= for senders that cannot set headers (it reaches access logs, redacted there).
ALERTS_WEBHOOK_QUERY_TOKEN = env_bool("ALERTS_WEBHOOK_QUERY_TOKEN", False)
ALERTS_MAX_BODY_BYTES = env_int("ALERTS_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
ALERTS_MAX_JSON_DEPTH = env_int("ALERTS_MAX_JSON_DEPTH", 64, minimum=1)
ALERTS_RATE_LIMIT_PER_MINUTE = env_int("ALERTS_RATE_LIMIT_PER_MINUTE", 6000, minimum=0)
ALERTS_DEDUP_WINDOW_SECONDS = env_int("ALERTS_DEDUP_WINDOW_SECONDS", 60, minimum=0)
ALERTS_DEFAULT_PIPELINE = env_str("ALERTS_DEFAULT_PIPELINE")
ALERTS_SOURCE_PIPELINES = env_mapping("ALERTS_SOURCE_PIPELINES")
DATA_UPLOAD_MAX_MEMORY_SIZE = max(ALERTS_MAX_BODY_BYTES + 1024, 2_621_440)

# --- Noise control (docs/noise.md) ---------------------------------------------------------------
# How often beat runs the noise sweeps (reminders, storm digests, silence ends, flap recovery):
# a reminder is at most this late. Read by workers/app.py from the environment too.
NOISE_SWEEP_INTERVAL_SECONDS = env_int("NOISE_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
# Decisions (the "why was I notified" log) and the gate's memory are kept this many days.
NOISE_RETENTION_DAYS = env_int("NOISE_RETENTION_DAYS", 30, minimum=1)

# --- Outbound notifications ---------------------------------------------------------------------
# Outbound connections (notifications, AI providers) to private, loopback or reserved
# addresses are refused unless the host or address is listed (names, IPs, CIDR networks).
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS")
# The older name, still honoured: its entries are added to OUTBOUND_ALLOWED_HOSTS.
NOTIFY_ALLOWED_HOSTS = env_list("NOTIFY_ALLOWED_HOSTS")
NOTIFY_HTTP_TIMEOUT = env_float("NOTIFY_HTTP_TIMEOUT", 10.0, minimum=0.1)

# --- Intelligence -------------------------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
# Empty = Anthropic's API; ANTHROPIC_API_KEY is sent only here (or there).
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL")
INTELLIGENCE_TOKEN_BUDGET = env_int("INTELLIGENCE_TOKEN_BUDGET", 20000, minimum=0)

# --- Checkers -----------------------------------------------------------------------------------
CHECKERS_SKIP = env_list("CHECKERS_SKIP")
CHECKERS_SKIP_ALL = env_bool("CHECKERS_SKIP_ALL", False)

# --- Celery -------------------------------------------------------------------------------------
# Unset broker = the embedded default: nodes run in-process, no server needed.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than any node timeout, so Redis does not redeliver a node that is still running.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
    # kombu's emulated acks keep every delivered message in a Redis hash until its ack: two
    # Redis transactions per task in the worker's main process, to redeliver a killed
    # worker's messages after the visibility timeout (an hour). The engine does not need it:
    # the database says where each run is, and recovery publishes a lost step again within
    # a sweep and the stall grace (docs/operations.md). CELERY_ACK_EMULATION=1 brings it back.
    "ack_emulation": env_bool("CELERY_ACK_EMULATION", False),
}
# Keep Django's LOGGING (with trace_id/run_id on every line) in worker processes too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
PIPELINE_RECOVERY_INTERVAL_SECONDS = env_int("PIPELINE_RECOVERY_INTERVAL_SECONDS", 30, minimum=1)
PIPELINE_STALL_GRACE_SECONDS = env_int("PIPELINE_STALL_GRACE_SECONDS", 60, minimum=1)
PIPELINE_EXTRA_NODE_HANDLERS = env_list("PIPELINE_EXTRA_NODE_HANDLERS")
# A claim lives this long without a heartbeat (renewed every third of it while a node runs).
PIPELINE_LEASE_SECONDS = env_float("PIPELINE_LEASE_SECONDS", 30.0, minimum=1.0)
# A node that ignores its soft time limit (timeout_seconds) is killed this much later.
PIPELINE_HARD_LIMIT_MARGIN_SECONDS = env_float(
    "PIPELINE_HARD_LIMIT_MARGIN_SECONDS", 30.0, minimum=1.0
)
# An attempt started this many times without an outcome (its worker killed each time) fails.
PIPELINE_NODE_MAX_STARTS = env_int("PIPELINE_NODE_MAX_STARTS", 5, minimum=1)
# A published step stays runnable this long; recovery publishes it anew afterwards.
PIPELINE_MESSAGE_EXPIRY_SECONDS = env_int("PIPELINE_MESSAGE_EXPIRY_SECONDS", 21600, minimum=60)
# Retry delays longer than this wait in the database, not in the broker (Redis redelivers a
# message it has held past its visibility timeout).
PIPELINE_MAX_BROKER_COUNTDOWN_SECONDS = env_int(
    "PIPELINE_MAX_BROKER_COUNTDOWN_SECONDS", 300, minimum=0
)
# Without a broker: "background" runs nodes on this process's threads after the webhook's
# commit (the embedded default); "inline" runs them in the calling thread at once (tests).
PIPELINE_EMBEDDED_EXECUTION = env_choice(
    "PIPELINE_EMBEDDED_EXECUTION", ("background", "inline"), "background"
)
PIPELINE_EMBEDDED_THREADS = env_int("PIPELINE_EMBEDDED_THREADS", 2, minimum=1)
# Alerts of an incident carried into a run's context, AI prompt and notifications (the most
# recent ones; the rest are counted): a run's work must not grow with its incident.
PIPELINE_CONTEXT_MAX_ALERTS = env_int("PIPELINE_CONTEXT_MAX_ALERTS", 50, minimum=1)
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0, minimum=0.1)

# --- Monitoring (the monitor's own health: admin dashboard, /metrics) ---------------------------
# /metrics answers a request with "Authorization: Bearer <METRICS_TOKEN>" (when set), or from
# an address in METRICS_ALLOWED_ADDRESSES (addresses or CIDR networks; the TCP peer, so behind
# a proxy list the proxy or use the token).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"])
# Flower's address as operators reach it (the dashboard links to it); empty = no link.
FLOWER_URL = env_str("FLOWER_URL")
# Finished runs (and their node executions and delivery records) older than this many days
# are deleted by the hourly orchestration.prune_runs task; 0 keeps them forever.
RUN_RETENTION_DAYS = env_int("RUN_RETENTION_DAYS", 30, minimum=0)

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# "plain" (a line of text with trace_id/run_id) or "json" (one JSON object a line).
LOG_FORMAT = env_choice("LOG_FORMAT", ("plain", "json"), "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "run_context": {"()": "apps.orchestration.logging.RunContextFilter"},
        # ?token= and similar never reach a log line (runserver logs full request lines).
        "redact_secrets": {"()": "project.redaction.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[trace_id=%(trace_id)s run_id=%(run_id)s] %(message)s"
        },
        "json": {"()": "project.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["run_context", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING").upper()},
    "loggers": {
        "apps": {"level": LOG_LEVEL, "propagate": True},
        # Django's own config gives runserver's request log a handler without our filter.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
