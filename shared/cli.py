"""The `minzheng` command: run the local stack, serve one service, migrate, create topics, mint tokens, write the event contract."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from shared import settings as settings_mod
from shared.settings import SERVICES, STATE_DIR

app = typer.Typer(help="Minzheng: civil-affairs services for a district bureau.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
topics_app = typer.Typer(help="Kafka topics of the contract.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")

ADMIN_SCOPES = " ".join(
    [f"{s}:{m}" for s in SERVICES for m in ("read", "write")] + ["pii:read"]
)


def _service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    return name


def factory(service: str):  # noqa: ANN201 - returns a FastAPI app factory
    import importlib

    return importlib.import_module(f"services.{service}.app").create


@app.command()
def serve(service: Annotated[str, typer.Argument(callback=_service)]) -> None:
    """Run one service (HTTP, outbox relay and consumers) until SIGTERM or Ctrl-C."""
    import uvicorn

    from shared import logs

    settings = settings_mod.load(service)
    logs.configure(service, settings.log_level, settings.log_format)
    uvicorn.run(
        factory(service)(settings),
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
        migrations.upgrade(name, settings_mod.load(name).database_url)
        typer.echo(f"{name}: migrations at {migrations.head(name)}")


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

    typer.echo(issue_token(settings_mod.load("registry"), sub=sub, scopes=scope, division=division, ttl_seconds=ttl))


@app.command()
def contracts() -> None:
    """Write the event contract: docs/asyncapi.yaml and docs/events/<type>.json, from the event catalogue."""
    from shared import asyncapi

    for path in asyncapi.write():
        typer.echo(f"wrote {path}")


@app.command()
def demo(base: Annotated[str, typer.Option(help="registry URL; the others are on the next ports")] = "http://127.0.0.1") -> None:
    """Load the small demo data set through the public HTTP API (idempotent)."""
    from services import demo as demo_data

    summary = asyncio.run(demo_data.load(base))
    typer.echo(summary)


@app.command()
def up(
    no_demo: Annotated[bool, typer.Option("--no-demo", help="do not load the demo data")] = False,
) -> None:
    """Start everything locally: PostgreSQL, the broker, migrations, the four services, demo data."""
    from shared import devstack

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    pg = broker = None
    children: list[subprocess.Popen[bytes]] = []

    def shutdown(*_args: object) -> None:
        typer.echo("\nstopping…")
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(25)
            except subprocess.TimeoutExpired:
                child.kill()
        if broker:
            broker.stop()
        if pg:
            pg.stop()
        typer.echo("stopped.")

    try:
        if not any(f"{s.upper()}_DATABASE_URL" in env for s in SERVICES) and "DATABASE_URL" not in env:
            pg = devstack.Postgres(STATE_DIR / "pgdata", port=int(env.get("MINZHENG_PG_PORT", 55432)))
            pg.start()
            pg.create_databases(SERVICES)
            for s in SERVICES:
                env[f"{s.upper()}_DATABASE_URL"] = pg.url(s)
            typer.echo(f"PostgreSQL   127.0.0.1:{pg.port}  data in {pg.data_dir}")
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:
            broker = devstack.Broker(9092, log_path=STATE_DIR / "broker.log")
            broker.start()
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
            typer.echo(f"broker       {broker.bootstrap}  (tansu, memory storage)")
        env.setdefault("JWT_SECRET", settings_mod.local_jwt_secret())
        env.setdefault("LOG_FORMAT", "json")
        cli = [sys.executable, "-m", "shared.cli"]
        subprocess.run([*cli, "topics", "create"], env=env, check=True)
        subprocess.run([*cli, "migrate", "all"], env=env, check=True)
        log_dir = STATE_DIR / "logs"
        log_dir.mkdir(exist_ok=True)
        for s in SERVICES:
            out = open(log_dir / f"{s}.log", "ab")  # noqa: SIM115
            children.append(subprocess.Popen([*cli, "serve", s], env=env, stdout=out, stderr=subprocess.STDOUT))
        _wait_ready(children)
        os.environ.update({k: v for k, v in env.items() if k.endswith("JWT_SECRET")})
        if not no_demo:
            from services import demo as demo_data

            typer.echo(asyncio.run(demo_data.load("http://127.0.0.1")))
        from shared.auth import issue_token

        admin = issue_token(settings_mod.load("registry", jwt_secret=env["JWT_SECRET"]), sub="admin", scopes=ADMIN_SCOPES, division="340207")
        typer.echo("")
        for s in SERVICES:
            typer.echo(f"{s:<12} http://127.0.0.1:{settings_mod.DEFAULT_PORTS[s]}   (docs: /docs, health: /readyz)")
        typer.echo(f"logs         {log_dir}/")
        typer.echo(f"\nadmin token (whole district, all scopes, 8 hours):\n{admin}\n")
        typer.echo("Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        typer.echo("a service exited; see its log")
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()


def _wait_ready(children: list[subprocess.Popen[bytes]], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    pending = set(SERVICES)
    while pending and time.monotonic() < deadline:
        for s in list(pending):
            try:
                if httpx.get(f"http://127.0.0.1:{settings_mod.DEFAULT_PORTS[s]}/readyz", timeout=1).status_code == 200:
                    pending.discard(s)
            except httpx.HTTPError:
                pass
        if any(c.poll() is not None for c in children):
            raise SystemExit("a service failed to start; see .minzheng/logs/")
        time.sleep(0.3)
    if pending:
        raise SystemExit(f"not ready after {timeout}s: {', '.join(sorted(pending))}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
