"""`minzheng up` (`make run`) on a machine where a port it needs is taken.

It must name the port and how to choose another, exit non-zero, and leave
nothing running: the ports are checked before anything starts, and a part
that fails to start anyway is reported without a traceback and stopped.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import SERVICES
from services.cli import port_problems
from shared import devstack

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port`, as another program's server would."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain `text` (a data directory, a port)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def up_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, tuple[int, str]]]]:
    """An environment for `up` on free ports of its own, and each port with the variable that moves it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") and not k.endswith(("_DATABASE_URL", "_PORT"))
    }
    ports = {
        "PostgreSQL": (devstack.free_port(), "MINZHENG_PG_PORT"),
        "the broker": (devstack.free_port(), "MINZHENG_BROKER_PORT"),
        **{s: (devstack.free_port(), f"{s.upper()}_PORT") for s in SERVICES},
    }
    env |= {variable: str(port) for port, variable in ports.values()}
    env["MINZHENG_HOME"] = str(tmp_path / "home")
    yield env, ports


@pytest.mark.parametrize("taken", ["PostgreSQL", "the broker", "eldercare"])
def test_up_names_the_taken_port_and_how_to_choose_another_and_starts_nothing(
    up_env: tuple[dict[str, str], dict[str, tuple[int, str]]], taken: str
) -> None:
    env, ports = up_env
    port, variable = ports[taken]
    with listening(port):
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "up", "--no-demo"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"port {port} ({taken}) is already in use" in done.stderr
    suggested = re.search(rf"{variable}=(\d+) make run", done.stderr)
    assert suggested, done.stderr
    assert int(suggested[1]) not in {p for p, _ in ports.values()}, "the suggested port is another part's"
    assert "Traceback" not in done.stderr + done.stdout
    home = Path(env["MINZHENG_HOME"])
    assert not (home / "pgdata").exists(), "PostgreSQL was initialised before the ports were checked"
    assert not processes_mentioning(str(home)), "a process of this run is still running"
    for what, (other, _) in ports.items():
        if what != taken:
            assert not devstack.port_in_use(other), f"{what} listens on {other} after a refused start"


def test_each_taken_port_gets_its_own_suggestion() -> None:
    first, second = devstack.free_port(), devstack.free_port()
    ports = {"registry": (first, "REGISTRY_PORT"), "assistance": (second, "ASSISTANCE_PORT")}
    with listening(first), listening(second):
        problems = port_problems(ports, ours=set())
    suggested = [int(re.search(r"_PORT=(\d+) ", line)[1]) for line in problems]  # type: ignore[index]
    assert len(problems) == 2 and len(set(suggested)) == 2
    assert not {first, second} & set(suggested)


def test_a_broker_that_cannot_listen_is_reported_and_stopped(tmp_path: Path) -> None:
    """The check before starting can race another program: the broker's own failure is a StartError, not a hang."""
    port = devstack.free_port()
    broker = devstack.Broker(port, log_path=tmp_path / "broker.log")
    with listening(port), pytest.raises(devstack.StartError, match=f"127.0.0.1:{port}"):
        broker.start()
    assert broker.proc is None
    assert not processes_mentioning(f"tcp://127.0.0.1:{port}")


def test_postgres_refuses_a_taken_port_before_touching_its_data_directory(tmp_path: Path) -> None:
    port = devstack.free_port()
    pg = devstack.Postgres(tmp_path / "pgdata", port=port)
    with listening(port), pytest.raises(devstack.StartError, match=f"127.0.0.1:{port}"):
        pg.start()
    assert not (tmp_path / "pgdata").exists()


def test_port_in_use_sees_a_listener_and_not_a_free_port() -> None:
    port = devstack.free_port()
    assert not devstack.port_in_use(port)
    with listening(port):
        assert devstack.port_in_use(port)
    assert not devstack.port_in_use(port)
