"""Test helpers: a real PostgreSQL and a real broker, the services in-process on real ports."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services import MODULES, SERVICES
from shared import devstack, identity, migrations
from shared import settings as settings_mod
from shared.auth import issue_token
from shared.kafka import create_topics

JWT_SECRET = "test-secret-not-for-production-0123456789"
ALL_SCOPES = " ".join([f"{s}:{m}" for s in SERVICES for m in ("read", "write")] + ["pii:read"])


def new_id_number(min_age: int = 20, max_age: int = 70, prefix: str = "340207") -> str:
    """A fresh valid identity number, never one already handed out in this run.

    The space (about 18 million birth dates and sequence numbers) is small enough that a test asking for
    thousands would otherwise collide now and then (2,000 numbers: about one run in ten).
    """
    today = date.today()
    while True:
        year = today.year - random.randint(min_age + 1, max_age)
        born = date(year, random.randint(1, 12), random.randint(1, 28))
        number = identity.make(prefix, born, random.randint(0, 999))
        if number not in _ISSUED:
            _ISSUED.add(number)
            return number


_ISSUED: set[str] = set()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns a truthy value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not true after {timeout}s; last value: {last!r}")


@dataclass
class Infra:
    pg: devstack.Postgres
    broker: devstack.Broker

    def database(self, name: str, service: str) -> str:
        """A fresh database migrated for `service`; returns its URL."""
        self.pg.create_databases([name])
        url = self.pg.url(name)
        # Alembic's env runs its own event loop: give it a thread (blocks the caller briefly).
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(migrations.upgrade, MODULES[service].migrations, url).result()
        return url

    def settings(self, service: str, **overrides: Any) -> settings_mod.Settings:
        values: dict[str, Any] = {
            "database_url": self.pg.url(service),
            "kafka_bootstrap_servers": self.broker.bootstrap,
            "jwt_secret": JWT_SECRET,
            "port": devstack.free_port(),
            "consumer_retry_backoff_seconds": 0.05,
            "outbox_poll_seconds": 0.5,
            "shutdown_grace_seconds": 10,
            "log_format": "json",
        }
        return settings_mod.load(service, **{**values, **overrides})


def token(sub: str = "tester", scopes: str = ALL_SCOPES, division: str = "340207", secret: str = JWT_SECRET) -> str:
    return issue_token(
        settings_mod.Settings(service="registry", jwt_secret=secret), sub=sub, scopes=scopes, division=division
    )


@dataclass
class RunningService:
    name: str
    app: FastAPI
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    def client(self, tok: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {tok or token()}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10, **kwargs)

    @property
    def state(self) -> Any:
        return self.app.state

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=30)


async def start_service(name: str, settings: settings_mod.Settings) -> RunningService:
    import importlib

    app = importlib.import_module(f"services.{name}.app").create(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not start")
        await asyncio.sleep(0.02)
    return RunningService(name, app, server, task, f"http://127.0.0.1:{settings.port}")


async def wait_consumers_assigned(*services: RunningService, timeout: float = 30) -> None:
    """Wait until every consumer of the services has joined its group and holds partitions."""

    async def assigned() -> bool:
        for svc in services:
            for runner in svc.state.consumers:
                if runner.kafka is None or not runner.kafka.assignment():
                    return False
        return True

    await eventually(assigned, timeout=timeout, interval=0.1)


@dataclass
class Stack:
    infra: Infra
    services: dict[str, RunningService] = field(default_factory=dict)

    def __getitem__(self, name: str) -> RunningService:
        return self.services[name]


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes | dict[str, Any],
    key: str | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        payload = json.dumps(value).encode() if isinstance(value, dict) else value
        await producer.send_and_wait(topic, payload, key=key.encode() if key else None, headers=headers or [])
    finally:
        await producer.stop()


def partner_death(
    id_number: str, date_of_death: str, source: str = "hospital", reference: str | None = None
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/partners/{source}",
        "type": "partner.death.reported",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "id_number": id_number,
            "date_of_death": date_of_death,
            "source": source,
            "reference": reference or f"REF-{uuid.uuid4().hex[:10]}",
        },
    }


async def start_infra(tmp: Path) -> Infra:
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    broker = devstack.Broker(devstack.free_port(), log_path=tmp / "broker.log")
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(broker.start)
    await asyncio.to_thread(pg.create_databases, SERVICES)
    for s in SERVICES:
        await asyncio.to_thread(migrations.upgrade, MODULES[s].migrations, pg.url(s))
    await create_topics(broker.bootstrap)
    return Infra(pg, broker)


async def stop_all(stack: Stack) -> None:
    for svc in stack.services.values():
        with contextlib.suppress(Exception):
            await svc.stop()
