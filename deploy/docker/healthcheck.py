"""Container health probe (the slim image has no curl): GET a local endpoint, exit 0 on 2xx.

    python /opt/minzheng/healthcheck.py            # GET /healthz (liveness; the image's HEALTHCHECK)
    python /opt/minzheng/healthcheck.py /readyz    # readiness (docker-compose uses it for depends_on)

Port: $PORT if set, else the default port of the service named on PID 1's command line
(`minzheng serve eldercare` -> 8003). Proxies from the environment are ignored.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {"registry": 8001, "assistance": 8002, "eldercare": 8003, "monitoring": 8004}


def port(cmdline_path: str = "/proc/1/cmdline") -> int:
    if os.environ.get("PORT"):
        return int(os.environ["PORT"])
    try:
        with open(cmdline_path, "rb") as f:
            words = [w.decode(errors="replace") for w in f.read().split(b"\0")]
    except OSError:
        words = []
    for i, word in enumerate(words[:-1]):
        if word == "serve":
            return DEFAULT_PORTS.get(words[i + 1], DEFAULT_PORTS["registry"])
    return DEFAULT_PORTS["registry"]


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    url = f"http://127.0.0.1:{port()}{path}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "3"))) as resp:
            ok = 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:  # HTTPError (503) is a URLError
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: {url}: HTTP {resp.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
