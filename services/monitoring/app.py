"""Builds the monitoring service: routers, consumers, and the nightly warnings run in its lifespan."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI

from services import MODULES
from services.monitoring import SERVICE, reconciliation, usecases
from services.monitoring.api import comparisons, leads, reconciliations, records, warnings
from services.monitoring.handlers import flows, partner_reports, service_events
from shared import clock, divisions
from shared import settings as settings_mod
from shared.app import background_task, create_app

log = structlog.get_logger("monitoring.warnings")
WARNINGS_AT_MINUTES = 30  # past midnight, local time: after the registry's milestones (00:10)


def seconds_until_next_run(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=WARNINGS_AT_MINUTES, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


async def _nightly_warnings(app: FastAPI) -> None:
    """The calendar rules (review overdue, 80 without the allowance, 18 in a child's program) need a daily look,
    and so does the drift a lost event leaves (the reconciliation with assistance and eldercare).

    Every rule is idempotent over open alerts, so replicas may all run it: the second finds nothing new.
    """
    while True:
        await asyncio.sleep(seconds_until_next_run(datetime.now()))
        try:
            async with app.state.sessionmaker() as session:
                totals = await usecases.run_warnings(session, clock.today(), divisions.DISTRICT)
            log.info("nightly warnings run", **totals)
        except Exception as exc:  # tomorrow's run sees the same situations again
            log.warning("nightly warnings run failed", error=str(exc))
        try:  # then the drift from lost events, repaired from assistance and eldercare
            async with app.state.sessionmaker() as session:
                row = await reconciliation.run(session, app.state.settings, divisions.DISTRICT, "daily")
            log.info("nightly reconciliation", **row.counts)
        except Exception as exc:  # an owner down tonight: tomorrow's run compares again
            log.warning("nightly reconciliation failed", error=str(exc))


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng monitoring (动态监测)",
        description="The low-income population database, kept in step across departments, and its early warnings.",
        routers=[records.router, warnings.router, comparisons.router, reconciliations.router, leads.router],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[service_events, partner_reports, flows],
        service_lifespan=background_task(
            "monitoring-warnings-daily", _nightly_warnings, enabled=lambda s: s.daily_warnings
        ),
    )
