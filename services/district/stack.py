"""A persistent private stack for the synthetic district: PostgreSQL, the broker and the four services.

Everything lives in one directory (`.district/` in the checkout by default,
gitignored): PostgreSQL's data (kept between runs, so `generate` then `replay`
then `report` work on the same district), the services' logs, the signing
secret, `today` (the business date every service reads: `shared/clock.py`) and
`stack.json` (the ports chosen at this start, the admin token, where `today`
is). Ports are free ones chosen at each start.

The broker keeps topics in memory (the wheel's tansu): `stop()` first waits
until every service's outbox is published and its consumers have caught up, so
nothing in flight is lost when the broker goes; the services' own databases
hold everything that matters between runs.

The nightly runs (allowance discovery, warnings) are switched off: the replay
runs them when its calendar says so, not when the machine's clock does.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType

import httpx

from services import ADMIN_SCOPES, MODULES, SERVICES
from shared import clock, devstack, migrations
from shared.auth import issue_token
from shared.kafka import create_topics
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / ".district"
READY_TIMEOUT = 300.0  # a loaded 2-core machine starts four services slowly


@dataclass
class DistrictStack:
    """The running stack; use as a context manager (`with DistrictStack(path) as stack:`)."""

    directory: Path = DEFAULT_DIR
    pg: devstack.Postgres | None = None
    broker: devstack.Broker | None = None
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""

    # -- paths and values ------------------------------------------------------------------

    @property
    def today_file(self) -> Path:
        return self.directory / "today"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def urls(self) -> dict[str, str]:
        return {s: self.url(s) for s in SERVICES}

    def today(self) -> date:
        """The business date of the stack (the day the services see)."""
        return date.fromisoformat(self.today_file.read_text().strip())

    def set_today(self, day: date) -> None:
        """Move every service's calendar to `day` (they re-read the file when it changes)."""
        clock.set_today(self.today_file, day)

    def secret(self) -> str:
        """The stack's token-signing secret: made once, kept in the directory (readable by its owner only)."""
        path = self.directory / "secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def mint(self, *, sub: str = "district", scopes: str = ADMIN_SCOPES, division: str = "340207") -> str:
        """A token signed with the stack's secret (8 hours)."""
        settings = Settings(service="registry", jwt_secret=self.secret())
        return issue_token(settings, sub=sub, scopes=scopes, division=division)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each service process and by PostgreSQL (its server, its live backends and
        those that have exited), read from /proc: what a phase costs, which a loaded machine's wall time hides."""
        used = {s: _cpu(p.pid) for s, p in self.procs.items()}
        if self.pg is not None:
            used["postgres"] = _postgres_cpu(self.directory / "pgdata")
        return used

    # -- start and stop --------------------------------------------------------------------

    def start(self, today: date | None = None) -> DistrictStack:
        """Start (or reuse) PostgreSQL, start the broker and the services; migrate; write stack.json."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "logs").mkdir(exist_ok=True)
        if today is not None or not self.today_file.exists():
            self.set_today(today or date.today())
        self.pg = devstack.Postgres(self.directory / "pgdata", port=devstack.free_port())
        self.pg.port = self.pg.serving_port() or self.pg.port
        self.pg.start()
        self.pg.create_databases(SERVICES)
        for s in SERVICES:
            migrations.upgrade(MODULES[s].migrations, self.pg.url(s))
        self.broker = devstack.Broker(devstack.free_port(), log_path=self.directory / "logs" / "broker.log")
        self.broker.start()
        asyncio.run(create_topics(self.broker.bootstrap, partitions=3))
        self._start_services()
        self.token = self.mint()
        self._write_state()
        return self

    def _env(self) -> dict[str, str]:
        assert self.pg and self.broker
        env = dict(os.environ)
        for s in SERVICES:
            env[f"{s.upper()}_DATABASE_URL"] = self.pg.url(s)
        return env | {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "JWT_SECRET": self.secret(),
            "LOG_LEVEL": "WARNING",
            "MINZHENG_HOME": str(self.directory),
            "MINZHENG_TODAY_FILE": str(self.today_file),
            "ELDERCARE_DAILY_DISCOVERY": "false",
            "MONITORING_DAILY_WARNINGS": "false",
            "REGISTRY_URL": f"http://127.0.0.1:{self.ports['registry']}",
            "ASSISTANCE_URL": f"http://127.0.0.1:{self.ports['assistance']}",
            "ELDERCARE_URL": f"http://127.0.0.1:{self.ports['eldercare']}",
        }

    def _start_services(self) -> None:
        for s in SERVICES:
            self.ports[s] = devstack.free_port()
        env = self._env()
        for s in SERVICES:
            log = open(self.directory / "logs" / f"{s}.log", "ab")  # noqa: SIM115 - the child keeps it
            self.procs[s] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", s],
                env={**env, f"{s.upper()}_PORT": str(self.ports[s])},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        for s in SERVICES:
            while not self._ready(s):
                if self.procs[s].poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    why = self._readiness(s)
                    raise RuntimeError(f"{s} did not start ({why}); see {self.directory / 'logs' / (s + '.log')}")
                time.sleep(0.2)

    def _readiness(self, service: str) -> str:
        """What /readyz answers, for the message of a service that did not start."""
        try:
            answer = httpx.get(f"{self.url(service)}/readyz", timeout=5)
        except httpx.HTTPError as exc:
            return f"/readyz: {type(exc).__name__}"
        return f"/readyz {answer.status_code}: {answer.text[:300]}"

    def _ready(self, service: str) -> bool:
        try:
            return httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _write_state(self) -> None:
        assert self.pg and self.broker
        state = {
            "postgres_port": self.pg.port,
            "broker": self.broker.bootstrap,
            "services": self.urls(),
            "today_file": str(self.today_file),
            "admin_token": self.token,
        }
        path = self.directory / "stack.json"
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)

    def settle(self, timeout: float = 300.0, quiet_for: float = 3.0, services: tuple[str, ...] = SERVICES) -> None:
        """Wait until every outbox is published and the consumers' lag has stopped moving (the system is quiet).

        A consumer reports its lag after each batch, so an idle one may keep a last non-zero figure: quiet
        means every outbox empty and the lag figures unchanged for `quiet_for` seconds (or all zero).
        `services` limits the wait to those services' outboxes and consumers (what the next step reads).
        """
        deadline = time.monotonic() + timeout
        last: tuple[int, ...] | None = None
        since = time.monotonic()
        with httpx.Client(timeout=5) as client:  # one connection a service, not one a poll
            while time.monotonic() < deadline:
                state = [self._waiting(s, client) for s in services]
                backlog, lag = sum(b for b, _ in state), tuple(lag for _, lag in state)
                if backlog == 0 and (sum(lag) == 0 or (lag == last and time.monotonic() - since >= quiet_for)):
                    return
                if lag != last or backlog:
                    last, since = lag, time.monotonic()
                time.sleep(settle_poll(backlog + sum(lag)))
        raise TimeoutError(f"the services did not settle within {timeout:.0f} s")

    def _waiting(self, service: str, client: httpx.Client) -> tuple[int, int]:
        """(outbox rows not yet published, consumer lag) from the service's /readyz."""
        try:
            body = client.get(f"{self.url(service)}/readyz").json()
        except (httpx.HTTPError, ValueError):
            return 1, 0
        return int(body.get("outbox_backlog") or 0), _count(body.get("consumers", {}))

    def stop(self) -> None:
        """Let the services drain, stop them (SIGTERM: they finish and flush), then the broker and PostgreSQL."""
        if self.procs and all(p.poll() is None for p in self.procs.values()):
            try:
                self.settle(timeout=60)
            except TimeoutError:
                pass
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()
        if self.broker:
            self.broker.stop()
        if self.pg:
            self.pg.stop()

    def __enter__(self) -> DistrictStack:
        return self.start() if not self.procs else self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def settle_poll(waiting: int) -> float:
    """Seconds before asking again: half a second near the end, 3 s while thousands of events wait.

    The full roster took 23 minutes to settle on a loaded machine; polling four /readyz every half second over
    that cost the loader 28 CPU-s (and each service its answers), for nothing a slower poll would have missed.
    """
    return 0.5 if waiting < 1000 else 3.0


def _count(body: object, counting: bool = False) -> int:
    """The sum of the numbers under every `lag` key of the consumers' report, at any depth."""
    if isinstance(body, bool):
        return 0
    if isinstance(body, int):
        return body if counting else 0
    if isinstance(body, dict):
        return sum(_count(v, counting or k == "lag") for k, v in body.items())
    if isinstance(body, list):
        return sum(_count(v, counting) for v in body)
    return 0


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (empty when the process is gone or unreadable)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _cpu(pid: int, *, children: bool = False) -> float:
    """utime + stime of a process (with `children`, also of its children it has waited for), in seconds."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / _TICKS


def _postgres_cpu(data_dir: Path) -> float:
    """The postmaster's CPU with its exited children's, plus each live backend's."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    backends = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) == postmaster]
    return _cpu(postmaster, children=True) + sum(_cpu(b) for b in backends)


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else 0
