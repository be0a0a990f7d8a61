"""Container health check: GET /healthz on the local gunicorn; exit 0 when it answers 200.

Slim images have no curl. The Host header is the first usable ALLOWED_HOSTS entry,
so the check passes whatever public host name the deployment allows.
"""

import os
import sys
import urllib.request

URL = "http://127.0.0.1:8000/healthz"


def host_header() -> str:
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = entry.strip().lstrip(".")  # ".example.org" also allows "example.org"
        if host and "*" not in host:
            return host
    return "localhost"  # Django's default ALLOWED_HOSTS here include it


def main() -> int:
    request = urllib.request.Request(URL, headers={"Host": host_header()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 (fixed loopback URL)
            return 0 if response.status == 200 else 1
    except Exception as exc:  # any failure means unhealthy
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
