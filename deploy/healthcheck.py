"""Container healthcheck for the web process: GET /healthz on the local gunicorn.

Exit 0 when it answers 200, 1 otherwise. The request carries a Host header taken from
DJANGO_ALLOWED_HOSTS, because Django answers 400 to a host it does not serve and production
lists only its public names there. Standard library only: the slim image has no curl.

    python deploy/healthcheck.py [URL]      (default http://127.0.0.1:8000/healthz)
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def host_header() -> str:
    """The first concrete name Django accepts ("localhost" if none is concrete)."""
    raw = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost")
    for entry in (item.strip() for item in raw.split(",")):
        if entry and "*" not in entry:
            # ".example.com" also matches example.com itself.
            return entry.lstrip(".")
    return "localhost"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    request = urllib.request.Request(url, headers={"Host": host_header()})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            status = response.status
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
