"""Flower settings, loaded with ``celery -A workers flower --conf=deploy/flowerconfig.py``.

Flower applies its FLOWER_* environment variables first and this file afterwards, so every
value set here would silently beat the environment. Each one is therefore read from the
environment itself (Flower's own variable names), with the production default beside it.

    FLOWER_BASIC_AUTH   user:pass (several: user1:pass1,user2:pass2). Required unless Flower
                        listens on a loopback address only.
    FLOWER_ADDRESS      address to bind (default 127.0.0.1; the container sets 0.0.0.0)
    FLOWER_PORT         port (default 5555)
    FLOWER_URL_PREFIX   path prefix when served behind a proxy under e.g. /flower
    FLOWER_MAX_TASKS    tasks kept in memory (default 10000)
"""

from __future__ import annotations

import os

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

port = int(os.environ.get("FLOWER_PORT", "5555"))
address = os.environ.get("FLOWER_ADDRESS", "127.0.0.1").strip()

# Flower can revoke and terminate tasks and shows every task's arguments (run ids, node ids):
# it must not be reachable without credentials. Refuse to start rather than run open.
_credentials = [c.strip() for c in os.environ.get("FLOWER_BASIC_AUTH", "").split(",") if c.strip()]
for _credential in _credentials:
    _user, _sep, _password = _credential.partition(":")
    if not _sep or not _user or not _password:
        raise SystemExit("FLOWER_BASIC_AUTH must be user:pass (comma-separated for several users)")
if _credentials:
    basic_auth = _credentials
elif address not in LOOPBACK:
    raise SystemExit(
        f"FLOWER_BASIC_AUTH is not set and Flower would listen on {address or 'all addresses'}: "
        "set FLOWER_BASIC_AUTH=user:pass (or FLOWER_ADDRESS=127.0.0.1 for a local-only Flower)"
    )

# Off: the run history lives in PostgreSQL (PipelineRun, StageExecution), so Flower's own state
# file would only duplicate it, and it needs a writable, persistent path in every container.
persistent = False

# Flower keeps events in memory; a bound stops a busy cluster (one task per node per run) from
# growing the Flower process without limit. Older tasks drop out of its list, not out of the
# database.
max_tasks = int(os.environ.get("FLOWER_MAX_TASKS", "10000"))

# Behind a reverse proxy that serves Flower under a path (e.g. https://ops.example.com/flower),
# links and static files must carry that prefix. Empty when Flower is served at the root.
url_prefix = os.environ.get("FLOWER_URL_PREFIX", "").strip().strip("/")
