"""The daily milestone run belongs to the registry app's lifespan: started with the service, stopped with it."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.registry.app import seconds_until_next_run
from tests.support import Infra, start_service

DAILY_TASK = "registry-milestones-daily"


def _daily_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == DAILY_TASK and not t.done()]


def test_the_run_is_due_ten_minutes_past_the_coming_midnight() -> None:
    assert seconds_until_next_run(datetime(2026, 11, 20, 23, 59)) == 11 * 60
    assert seconds_until_next_run(datetime(2026, 11, 20, 12, 0)) == 12 * 3600 + 10 * 60


async def test_the_registry_app_starts_the_daily_run_and_stops_it_on_shutdown(infra: Infra) -> None:
    before = set(_daily_tasks())
    registry = await start_service("registry", infra.settings("registry", consumers_enabled=False))
    try:
        started = set(_daily_tasks()) - before
        assert len(started) == 1, "the registry app did not start its daily milestone run"
    finally:
        await registry.stop()
    assert all(t.done() for t in started), "the daily milestone run outlived the service"
