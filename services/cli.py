"""The `minzheng` command: run the local stack, serve one service, migrate, create topics, mint tokens,
load the demo data, write the event contract.

It lives above the services and hands them to shared/ (which knows none of
them): the app factory, the migrations directory and the consumers of each
come from the registry in `services/__init__.py`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Annotated

import typer

from services import ADMIN_SCOPES, MODULES, SERVICES, consumers_by_service
from shared import settings as settings_mod
from shared.dlq import dlq_app
from shared.settings import STATE_DIR

app = typer.Typer(
    help="Minzheng: civil-affairs services for a district bureau.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
topics_app = typer.Typer(help="Kafka topics of the contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(dlq_app, name="dlq")

PG_PORT_VARIABLE = "MINZHENG_PG_PORT"
BROKER_PORT_VARIABLE = "MINZHENG_BROKER_PORT"
DEFAULT_PG_PORT = 55432
DEFAULT_BROKER_PORT = 9092


def _service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    return name


def service_settings(name: str, **overrides: object) -> settings_mod.Settings:
    """A service's settings, on its own local port unless the environment names another."""
    return settings_mod.load(name, defaults={"port": MODULES[name].port}, **overrides)


@app.command()
def serve(service: Annotated[str, typer.Argument(callback=_service)]) -> None:
    """Run one service (HTTP, outbox relay and consumers) until SIGTERM or Ctrl-C."""
    import uvicorn

    from shared import logs

    settings = service_settings(service)
    logs.configure(service, settings.log_level, settings.log_format)
    service_app = MODULES[service].create_app()(settings)
    # The cyclic collector is tuned by the platform's lifespan (shared/app.py, shared/gc_tuning.py).
    uvicorn.run(
        service_app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        lifespan="on",
    )


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="a service name, or 'all'")] = "all") -> None:
    """Apply a service's migrations (run before the service starts, as its own step)."""
    from shared import migrations

    for name in SERVICES if service == "all" else [_service(service)]:
        location = MODULES[name].migrations
        migrations.upgrade(location, settings_mod.load(name).database_url)
        typer.echo(f"{name}: migrations at {migrations.head(location)}")


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the contract and its dead-letter topic (idempotent)."""
    from shared.kafka import create_topics

    s = settings_mod.load("registry")
    created = asyncio.run(create_topics(s.kafka_bootstrap_servers, s.topic_partitions, s.topic_replication))
    typer.echo(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="who the token is for")],
    scope: Annotated[str, typer.Option(help='space-separated scopes, e.g. "registry:read pii:read"')],
    division: Annotated[str, typer.Option(help="340207, a town code or a community code")] = "340207",
    ttl: Annotated[int, typer.Option(help="seconds the token is valid")] = 8 * 3600,
) -> None:
    """Print a bearer token signed with the configured key."""
    from shared.auth import issue_token

    settings = settings_mod.load("registry")
    typer.echo(issue_token(settings, sub=sub, scopes=scope, division=division, ttl_seconds=ttl))


@app.command()
def contracts() -> None:
    """Write the event contract: docs/asyncapi.yaml and docs/events/<type>.json, from the event catalogue."""
    from shared import asyncapi

    for path in asyncapi.write(consumers_by_service()):
        typer.echo(f"wrote {path}")


# -- the synthetic district (issue 11) ---------------------------------------------------

district_app = typer.Typer(help="The synthetic district of the bureau's 2022 report.", no_args_is_help=True)
app.add_typer(district_app, name="district")
DISTRICT_DIR = "District's stack directory (PostgreSQL and broker data, logs, stack.json, today)"


@district_app.command("generate")
def district_generate(
    seed: Annotated[int, typer.Option(help="the same seed gives the same district")] = 1,
    scale: Annotated[float, typer.Option(help="shrink every count, e.g. 0.01 for a quick run")] = 1.0,
    directory: Annotated[str, typer.Option("--dir", help=DISTRICT_DIR)] = ".district",
) -> None:
    """Generate the district for a seed and load it through the services' public APIs (idempotent)."""
    from pathlib import Path

    from services.district import load

    load.run(seed=seed, scale=scale, directory=Path(directory))


@district_app.command("replay")
def district_replay(
    first: Annotated[str, typer.Option("--from", help="the first month replayed, YYYY-MM")] = "2022-01",
    last: Annotated[str, typer.Option("--to", help="the last month replayed, YYYY-MM")] = "2022-10",
    seed: Annotated[int, typer.Option(help="the seed the district was generated with")] = 1,
    scale: Annotated[float, typer.Option(help="the scale the district was generated with")] = 1.0,
    directory: Annotated[str, typer.Option("--dir", help=DISTRICT_DIR)] = ".district",
) -> None:
    """Replay the district's months through the system: life events day by day, each month's payrolls."""
    from pathlib import Path

    from services.district import replay

    replay.run(seed=seed, scale=scale, directory=Path(directory), first=first, last=last)


@district_app.command("report")
def district_report(
    last: Annotated[str, typer.Option("--to", help="the last month of the report, YYYY-MM")] = "2022-10",
    first: Annotated[str, typer.Option("--from", help="the first month, YYYY-MM")] = "2022-01",
    scale: Annotated[float, typer.Option(help="the scale the district was generated with")] = 1.0,
    seed: Annotated[int, typer.Option(help="the seed the district was generated and replayed with")] = 1,
    directory: Annotated[str, typer.Option("--dir", help=DISTRICT_DIR)] = ".district",
) -> None:
    """The bureau's 2022 table beside the system's own figures, with what the system adds."""
    from pathlib import Path

    from services.district import report

    report.run(directory=Path(directory), first=first, last=last, scale=scale, seed=seed)


def service_urls(host: str = "http://127.0.0.1") -> dict[str, str]:
    """Where each local service answers: its port from the environment, else its default."""
    return {s: f"{host}:{service_settings(s).port}" for s in SERVICES}


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="where the services run; each on its port")] = "http://127.0.0.1",
) -> None:
    """Load the small demo data set through the public HTTP API (idempotent)."""
    from services import demo as demo_data

    typer.echo(asyncio.run(demo_data.load(service_urls(host))))


def local_ports(env: Mapping[str, str]) -> dict[str, tuple[int, str]]:
    """The ports `up` will listen on, each with how to choose another: what → (port, the variable to set)."""
    ports: dict[str, tuple[int, str]] = {}
    if not uses_own_database(env):
        ports["PostgreSQL"] = (int(env.get(PG_PORT_VARIABLE, DEFAULT_PG_PORT)), PG_PORT_VARIABLE)
    if "KAFKA_BOOTSTRAP_SERVERS" not in env:
        ports["the broker"] = (int(env.get(BROKER_PORT_VARIABLE, DEFAULT_BROKER_PORT)), BROKER_PORT_VARIABLE)
    for s in SERVICES:
        ports[s] = (service_settings(s).port, f"{s.upper()}_PORT")
    return ports


def uses_own_database(env: Mapping[str, str]) -> bool:
    """Whether the caller points the services at a PostgreSQL of their own (then none is started)."""
    return "DATABASE_URL" in env or any(f"{s.upper()}_DATABASE_URL" in env for s in SERVICES)


def port_problems(ports: Mapping[str, tuple[int, str]], ours: set[int]) -> list[str]:
    """One line per port already taken by another program, saying how to choose another."""
    from shared.devstack import port_in_use

    avoid = {port for port, _ in ports.values()}  # grows with each suggestion, so no two suggest one port
    problems = []
    for what, (port, variable) in ports.items():
        if port in ours or not port_in_use(port):
            continue
        instead = free_port_after(port, avoid)
        avoid.add(instead)
        problems.append(
            f"port {port} ({what}) is already in use on 127.0.0.1; stop what holds it, "
            f"or choose another port: {variable}={instead} make run"
        )
    return problems


def free_port_after(port: int, avoid: set[int]) -> int:
    """The next port above `port` that is free and not wanted by another part of the stack."""
    from shared.devstack import port_in_use

    candidate = port + 1
    while candidate in avoid or port_in_use(candidate):
        candidate += 1
    return candidate


class LocalStack:
    """What `up` started, so that any failure stops all of it: nothing is left half-started."""

    def __init__(self) -> None:
        from shared import devstack

        self.pg: devstack.Postgres | None = None
        self.broker: devstack.Broker | None = None
        self.children: list[subprocess.Popen[bytes]] = []

    def start_postgres(self, env: dict[str, str], port: int) -> None:
        from shared import devstack

        self.pg = devstack.Postgres(STATE_DIR / "pgdata", port=port)
        self.pg.start()
        self.pg.create_databases(SERVICES)
        for s in SERVICES:
            env[f"{s.upper()}_DATABASE_URL"] = self.pg.url(s)
        typer.echo(f"PostgreSQL   127.0.0.1:{self.pg.port}  data in {self.pg.data_dir}")

    def start_broker(self, env: dict[str, str], port: int) -> None:
        from shared import devstack

        self.broker = devstack.Broker(port, log_path=STATE_DIR / "broker.log")
        self.broker.start()
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap
        typer.echo(f"broker       {self.broker.bootstrap}  (tansu, memory storage)")

    def start_services(self, env: dict[str, str]) -> None:
        cli = [sys.executable, "-m", "services.cli"]
        subprocess.run([*cli, "topics", "create"], env=env, check=True)
        subprocess.run([*cli, "migrate", "all"], env=env, check=True)
        log_dir = STATE_DIR / "logs"
        log_dir.mkdir(exist_ok=True)
        for s in SERVICES:
            with open(log_dir / f"{s}.log", "ab") as out:
                self.children.append(
                    subprocess.Popen([*cli, "serve", s], env=env, stdout=out, stderr=subprocess.STDOUT)
                )

    def running(self) -> bool:
        return all(c.poll() is None for c in self.children)

    def stop(self) -> None:
        """Services first (each drains within its grace period), then the broker, then PostgreSQL."""
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(25)
            except subprocess.TimeoutExpired:
                child.kill()
        if self.broker:
            self.broker.stop()
        if self.pg:
            self.pg.stop()


@app.command()
def up(
    no_demo: Annotated[bool, typer.Option("--no-demo", help="do not load the demo data")] = False,
) -> None:
    """Start everything locally: PostgreSQL, the broker, migrations, the four services, demo data."""
    from shared import devstack

    env = dict(os.environ)
    ports = local_ports(env)
    # Our own PostgreSQL, left running by an earlier run, holds its port: it is reused, not a conflict.
    ours = devstack.Postgres(STATE_DIR / "pgdata").serving_port()
    problems = port_problems(ports, {ours} if ours else set())
    if problems:
        typer.echo("\n".join(["cannot start: nothing was started.", *problems]), err=True)
        raise typer.Exit(2)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    stack = LocalStack()
    try:
        _start(stack, env, ports, load_demo=not no_demo)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while stack.running():
            time.sleep(0.5)
        typer.echo("a service exited; see its log", err=True)
    except KeyboardInterrupt:
        pass
    except (devstack.StartError, subprocess.CalledProcessError, StartupFailed) as exc:
        typer.echo(f"cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        typer.echo("\nstopping…")
        stack.stop()
        typer.echo("stopped.")


class StartupFailed(Exception):
    """A service did not become ready."""


def _start(stack: LocalStack, env: dict[str, str], ports: Mapping[str, tuple[int, str]], *, load_demo: bool) -> None:
    if "PostgreSQL" in ports:
        stack.start_postgres(env, ports["PostgreSQL"][0])
    if "the broker" in ports:
        stack.start_broker(env, ports["the broker"][0])
    env.setdefault("JWT_SECRET", settings_mod.local_jwt_secret())
    env.setdefault("LOG_FORMAT", "json")
    urls = {s: f"http://127.0.0.1:{ports[s][0]}" for s in SERVICES}
    env.setdefault("REGISTRY_URL", urls["registry"])
    env.setdefault("ASSISTANCE_URL", urls["assistance"])
    env.setdefault("ELDERCARE_URL", urls["eldercare"])
    stack.start_services(env)
    _wait_ready(stack, urls)
    os.environ.update({k: v for k, v in env.items() if k.endswith("JWT_SECRET")})
    if load_demo:
        from services import demo as demo_data

        typer.echo(asyncio.run(demo_data.load(urls)))
    _print_welcome(urls, env["JWT_SECRET"])


def _print_welcome(urls: Mapping[str, str], jwt_secret: str) -> None:
    from shared.auth import issue_token

    settings = settings_mod.load("registry", jwt_secret=jwt_secret)
    admin = issue_token(settings, sub="admin", scopes=ADMIN_SCOPES, division="340207")
    typer.echo("")
    for s, url in urls.items():
        typer.echo(f"{s:<12} {url}   (docs: /docs, health: /readyz)")
    typer.echo(f"logs         {STATE_DIR / 'logs'}/")
    typer.echo(f"\nadmin token (whole district, all scopes, 8 hours):\n{admin}\n")
    typer.echo("Ctrl-C stops everything.")


def _wait_ready(stack: LocalStack, urls: Mapping[str, str], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    pending = set(urls)
    while pending and time.monotonic() < deadline:
        for s in list(pending):
            try:
                if httpx.get(f"{urls[s]}/readyz", timeout=1).status_code == 200:
                    pending.discard(s)
            except httpx.HTTPError:
                pass
        if not stack.running():
            raise StartupFailed(f"a service exited while starting; see {STATE_DIR / 'logs'}/")
        time.sleep(0.3)
    if pending:
        raise StartupFailed(f"not ready after {timeout}s: {', '.join(sorted(pending))}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
