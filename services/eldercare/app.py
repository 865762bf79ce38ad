"""Builds the eldercare service, with the daily allowance discovery in its lifespan."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI

from services import MODULES
from services.eldercare import SERVICE
from services.eldercare.allowances import discover
from services.eldercare.api import (
    allowances,
    assessments,
    elders,
    institutions,
    overpayments,
    payroll_months,
    payrolls,
    providers,
    rosters,
    service_orders,
)
from services.eldercare.guarantees import assistance_events
from services.eldercare.handlers import registry_events
from shared import clock
from shared import settings as settings_mod
from shared.app import background_task, create_app

log = structlog.get_logger("eldercare.discovery")
DISCOVER_AT_MINUTES = 30  # past midnight, after the registry's milestone run (10 past)


def seconds_until_next_run(now: datetime) -> float:
    """Seconds from `now` to the next run, shortly after the coming midnight."""
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=DISCOVER_AT_MINUTES, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


async def _daily_discovery(app: FastAPI) -> None:
    """Discover every night; a run is idempotent and takes one lock, so replicas may all run it."""
    while True:
        await asyncio.sleep(seconds_until_next_run(datetime.now()))
        try:
            async with app.state.sessionmaker() as session:
                counts = await discover.discover(session, clock.today())
                await session.commit()
            log.info("daily allowance discovery", **vars(counts))
        except Exception as exc:  # the next day's run catches up: it finds whatever is still due
            log.warning("daily allowance discovery failed", error=str(exc))


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng eldercare (养老服务)",
        description=(
            "Eldercare: the elders register, the old-age allowance found without asking and its payroll, "
            "assessments, home care, institutions."
        ),
        routers=[
            elders.router,
            allowances.router,
            payroll_months.router,
            payrolls.router,
            overpayments.router,
            assessments.router,
            institutions.router,
            providers.router,
            service_orders.router,
            rosters.router,
        ],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[registry_events, assistance_events],
        service_lifespan=background_task(
            "eldercare-discovery-daily", _daily_discovery, enabled=lambda s: s.daily_discovery
        ),
    )
