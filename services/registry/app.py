"""Builds the registry service: routers, partner-feed consumer, and the daily milestone run in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI

from services import MODULES
from services.registry import SERVICE
from services.registry.api import (
    adoptions,
    deaths,
    divorces,
    households,
    hukou,
    intake,
    marriages,
    milestones,
    persons,
    reviews,
    snapshot,
)
from services.registry.handlers import partner_feeds
from services.registry.usecases import milestones as milestone_cases
from shared import clock, gc_tuning
from shared import settings as settings_mod
from shared.app import create_app

log = structlog.get_logger("registry.milestones")
MILESTONES_AT_MINUTES = 10  # past midnight, local time


def seconds_until_next_run(now: datetime) -> float:
    """Seconds from `now` to the next run, shortly after the coming midnight."""
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=MILESTONES_AT_MINUTES, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


async def _daily_milestones(app: FastAPI) -> None:
    """Publish the day's milestones every night; each (person, age) is published once, so replicas may all run it."""
    while True:
        await asyncio.sleep(seconds_until_next_run(datetime.now()))
        try:
            result = await milestone_cases.run_all(app.state.sessionmaker, clock.today())
            log.info("daily milestone run", recorded=result.recorded, published=result.published)
        except Exception as exc:  # the next day's run catches up: ages are recorded once reached
            log.warning("daily milestone run failed", error=str(exc))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The registry's own background work: the daily milestone run, stopped with the service; the cycle collector
    tuned while it runs (shared/gc_tuning.py)."""
    task = asyncio.create_task(_daily_milestones(app), name="registry-milestones-daily")
    try:
        with gc_tuning.tuned_collector():
            yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng registry (登记)",
        description=(
            "The resident master index: persons, households, deaths, household-registration changes, "
            "marriages, adoptions, partner intake and its review queue, milestones."
        ),
        routers=[
            snapshot.router,  # before persons: /v1/persons/snapshot is no person id
            persons.router,
            households.router,
            deaths.router,
            hukou.router,
            reviews.router,
            intake.router,
            marriages.router,
            divorces.router,
            adoptions.router,
            milestones.router,
        ],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[partner_feeds],
        service_lifespan=lifespan,
    )
