"""The Dockerfile's promises (read statically: no Docker engine here) and its health probe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, args = line.strip().partition(" ")
            out.append((word.upper(), " ".join(args.split())))
    return out


def final_stage() -> list[tuple[str, str]]:
    ins = instructions()
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last_from:]


def test_dockerfile_is_multi_stage_with_a_slim_non_root_final_stage():
    ins = instructions()
    assert sum(word == "FROM" for word, _ in ins) >= 2
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    final = final_stage()
    base = final[0][1].split()[0]
    assert base.replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) == "python:3.11-slim"
    runs = " ".join(a for w, a in final if w == "RUN")
    assert "apt-get install" not in runs and "pip install" not in runs, "final stage installs nothing"
    copies = [a for w, a in final if w == "COPY"]
    assert any(a.startswith("--from=builder /opt/venv") for a in copies)
    user = [a for w, a in final if w == "USER"]
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert json.loads(dict(final)["ENTRYPOINT"]) == ["minzheng"]
    assert json.loads(dict(final)["CMD"]) == ["serve", "registry"]
    assert "healthcheck.py" in dict(final)["HEALTHCHECK"]
    builder_runs = " ".join(a for w, a in ins[: len(ins) - len(final)] if w == "RUN")
    # Runtime dependencies only: neither the `local` extra (embedded PostgreSQL, tansu) nor `dev`.
    assert "optional-dependencies" not in builder_runs
    assert not re.search(r"\.\[[^\]]*\]", builder_runs), "no extras installed"


def test_dockerignore_keeps_secrets_and_local_state_out():
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert patterns[0] == "*", "an allow-list: everything is excluded first"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert {"pyproject.toml", "shared", "services", "deploy/docker/healthcheck.py"} <= allowed
    assert not any(a.startswith((".", "tests", "deploy/compose", "deploy/k8s")) for a in allowed)
    for copied in [a.split()[0] for w, a in instructions() if w == "COPY" and not a.startswith("--from")]:
        assert copied == "." or copied in allowed, f"COPY {copied} is excluded by .dockerignore"


class _Handler(BaseHTTPRequestHandler):
    status = {"/healthz": 200, "/readyz": 503}

    def do_GET(self):  # noqa: N802
        self.send_response(self.status.get(self.path, 404))
        self.end_headers()

    def log_message(self, *args):
        pass


def _probe(port: int, *args: str) -> int:
    env = {**os.environ, "PORT": str(port), "HEALTHCHECK_TIMEOUT": "2"}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *args], env=env, capture_output=True, timeout=20
    ).returncode


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_healthcheck_passes_on_2xx_and_fails_otherwise(server):
    assert _probe(server) == 0  # /healthz by default
    assert _probe(server, "/readyz") == 1  # 503
    assert _probe(server, "/missing") == 1


def test_healthcheck_fails_when_nothing_listens(server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert _probe(free) == 1


def test_healthcheck_finds_the_port_from_the_command_line(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("healthcheck", HEALTHCHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("PORT", raising=False)
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/opt/venv/bin/python\0/opt/venv/bin/minzheng\0serve\0eldercare\0")
    assert module.port(str(cmdline)) == 8003
    assert module.port(str(tmp_path / "absent")) == 8001
    monkeypatch.setenv("PORT", "9000")
    assert module.port(str(cmdline)) == 9000
