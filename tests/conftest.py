"""Starts one embedded PostgreSQL and one broker for the whole run, and the four services on them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared import logs
from tests.support import (
    Infra,
    Stack,
    start_infra,
    start_service,
    stop_all,
    wait_consumers_assigned,
)

os.environ.setdefault("MINZHENG_HOME", "/tmp/minzheng-test-home")


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
async def infra(tmp_root: Path) -> AsyncIterator[Infra]:
    logs.configure("tests", "WARNING", "json")
    infra = await start_infra(tmp_root)
    try:
        yield infra
    finally:
        infra.broker.stop()
        infra.pg.stop()


@pytest.fixture(scope="session")
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    """The four services running in-process on real ports, consumers joined."""
    stack = Stack(infra)
    registry_settings = infra.settings("registry")
    stack.services["registry"] = await start_service("registry", registry_settings)
    urls = {"registry_url": stack.services["registry"].url}
    for name in ("assistance", "eldercare", "monitoring"):
        stack.services[name] = await start_service(name, infra.settings(name, **urls))
        urls[f"{name}_url"] = stack.services[name].url  # monitoring's reconciliation reads both
    await wait_consumers_assigned(*stack.services.values())
    try:
        yield stack
    finally:
        await stop_all(stack)
