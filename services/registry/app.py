"""Builds the registry service: routers, partner-feed consumer, and the daily milestone run in its lifespan."""

from __future__ import annotations

import asyncio
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
from shared import clock
from shared import settings as settings_mod
from shared.app import background_task, create_app

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
        service_lifespan=background_task("registry-milestones-daily", _daily_milestones),
    )
