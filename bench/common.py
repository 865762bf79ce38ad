"""Shared bench scaffolding: a private stack (PostgreSQL, broker, the four services as processes)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench import pgstatements
from services import MODULES, SERVICES
from shared import devstack, migrations
from shared.kafka import create_topics

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class BenchStack:
    tmp: Path
    pg: devstack.Postgres
    broker: devstack.Broker
    ports: dict[str, int] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    by_service: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for s in SERVICES:
            env[f"{s.upper()}_DATABASE_URL"] = self.pg.url(s)
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "JWT_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            "MINZHENG_HOME": str(self.tmp),
        }
        return env

    def start_services(self, only: tuple[str, ...] = SERVICES) -> None:
        env = self.env()
        for s in only:
            self.ports[s] = devstack.free_port()
        env["REGISTRY_URL"] = f"http://127.0.0.1:{self.ports.get('registry', 8001)}"
        for s in only:
            e = {**env, f"{s.upper()}_PORT": str(self.ports[s])}
            log = open(self.tmp / f"{s}.log", "ab")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", s],
                env=e,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            self.procs.append(proc)
            self.by_service[s] = proc
        deadline = time.monotonic() + 400  # a loaded machine starts them slowly
        for s in only:
            while True:
                try:
                    if httpx.get(f"{self.url(s)}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{s} did not become ready; see {self.tmp / (s + '.log')}")
                time.sleep(0.2)

    def cpu(self) -> dict[str, float]:
        """CPU-seconds used so far by each service process, PostgreSQL (every backend), the broker and this process.

        Differences of two readings give the CPU each part spent on the work
        between them: unlike wall time, hardly moved by other work on the machine.
        """
        postmaster = int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])
        out = {name: tree_cpu_seconds(proc.pid) for name, proc in self.by_service.items()}
        out["postgresql"] = tree_cpu_seconds(postmaster)
        if self.broker.proc is not None:
            out["broker"] = tree_cpu_seconds(self.broker.proc.pid)
        out["bench (load, polling)"] = cpu_seconds(os.getpid())
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.broker.stop()
        self.pg.stop()
        # The database's files (hundreds of MB a run) go; the services' and broker's logs stay for a failed run.
        shutil.rmtree(self.pg.data_dir, ignore_errors=True)


async def start_stack(partitions: int = 3, *, commit_timestamps: bool = False) -> BenchStack:
    """A private PostgreSQL and broker on free ports, migrated, with the contract's topics.

    `commit_timestamps` turns on PostgreSQL's `track_commit_timestamp`, so a
    benchmark can read when the transaction that wrote a row committed
    (`pg_xact_commit_timestamp(xmin)`) instead of trusting `now()`, which is
    the transaction's start and is shared by every row of a chunk.
    """
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    broker = devstack.Broker(devstack.free_port(), log_path=tmp / "broker.log")
    pg.start()
    if commit_timestamps or pgstatements.ENABLED:
        conn = await asyncpg.connect(dsn(pg, "postgres"))
        if commit_timestamps:
            await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        await conn.close()
        if pgstatements.ENABLED:  # a scratch run's statement figures (bench/pgstatements.py)
            await pgstatements.settings(dsn(pg, "postgres"))
        pg.stop()
        pg.start()
    broker.start()
    pg.create_databases(SERVICES)
    if pgstatements.ENABLED:
        await pgstatements.enable([dsn(pg, d) for d in ("postgres", *SERVICES)])
    for s in SERVICES:
        await asyncio.to_thread(migrations.upgrade, MODULES[s].migrations, pg.url(s))
    await create_topics(broker.bootstrap, partitions=partitions)
    return BenchStack(tmp, pg, broker)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used: moved less than wall time by other work on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants, living or exited (PostgreSQL's backends come and go).

    A child that exited and was waited for is in its parent's cutime/cstime; a
    living one is added from its own stat, recursively.
    """
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        own[child] = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += own.get(current, 0.0)
        todo += children.get(current, [])
    return total


def dsn(pg: devstack.Postgres, database: str) -> str:
    """A plain asyncpg DSN for one database of the bench's server."""
    return pg.url(database).replace("postgresql+asyncpg", "postgresql")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
