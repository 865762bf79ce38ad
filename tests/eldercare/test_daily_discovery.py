"""The nightly allowance discovery belongs to eldercare's lifespan: started with the service when the setting is
on, not at all when it is off, stopped with the service; due half an hour past midnight, after the registry's
milestone run (ten past), so the night's 80th birthdays are enrolled by their event before the safety net runs."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.eldercare.app import seconds_until_next_run
from tests.support import Infra, start_service

DAILY_TASK = "eldercare-discovery-daily"


def _daily_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name() == DAILY_TASK and not t.done()}


def test_the_run_is_due_half_an_hour_past_the_coming_midnight() -> None:
    assert seconds_until_next_run(datetime(2026, 11, 20, 23, 59)) == 31 * 60
    assert seconds_until_next_run(datetime(2026, 11, 20, 0, 45)) == 23 * 3600 + 45 * 60


async def test_the_setting_starts_the_nightly_discovery_with_the_service_and_stops_it_with_it(infra: Infra) -> None:
    before = _daily_tasks()
    off = await start_service("eldercare", infra.settings("eldercare", consumers_enabled=False, daily_discovery=False))
    try:
        assert _daily_tasks() == before, "the discovery ran although the setting was off"
    finally:
        await off.stop()
    on = await start_service("eldercare", infra.settings("eldercare", consumers_enabled=False))
    try:
        started = _daily_tasks() - before
        assert len(started) == 1, "the eldercare app did not start its nightly discovery"
    finally:
        await on.stop()
    assert all(t.done() for t in started), "the nightly discovery outlived the service"
