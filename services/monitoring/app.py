"""Builds the monitoring service: routers, consumers, and the nightly warnings run in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI

from services import MODULES
from services.monitoring import SERVICE, reconciliation, usecases
from services.monitoring.api import comparisons, leads, reconciliations, records, warnings
from services.monitoring.handlers import flows, partner_reports, service_events
from shared import clock, divisions
from shared import settings as settings_mod
from shared.app import create_app

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


# Objects allocated (net) between two young-generation collections; CPython's default is 700. A chunk of events
# makes some hundred thousand short-lived objects (rows, payloads, history, events), nearly all freed by reference
# counting; at 700 the cycle collector ran about 1,200 times per 3,000 deaths and took 15% of the consumers' CPU.
GC_YOUNG_THRESHOLD = 20_000


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Monitoring's own background work, when switched on (MONITORING_DAILY_WARNINGS), stopped with the service.

    While it runs, the cycle collector looks less often (see GC_YOUNG_THRESHOLD) and leaves alone what exists at
    startup (modules, the app, the schemas: frozen, so a full collection no longer walks them); both undone after.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, thresholds[0]), *thresholds[1:])
    gc.freeze()
    try:
        if not app.state.settings.daily_warnings:
            yield
            return
        task = asyncio.create_task(_nightly_warnings(app), name="monitoring-warnings-daily")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng monitoring (动态监测)",
        description="The low-income population database, kept in step across departments, and its early warnings.",
        routers=[records.router, warnings.router, comparisons.router, reconciliations.router, leads.router],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[service_events, partner_reports, flows],
        service_lifespan=lifespan,
    )
