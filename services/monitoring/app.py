"""Builds the monitoring service."""

from __future__ import annotations

from fastapi import FastAPI

from services import MODULES
from services.monitoring import SERVICE
from services.monitoring.api import records, warnings
from services.monitoring.handlers import partner_reports, service_events
from shared import settings as settings_mod
from shared.app import create_app


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng monitoring (动态监测)",
        description="The low-income population database, kept in step across departments, and its early warnings.",
        routers=[records.router, warnings.router],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[service_events, partner_reports],
    )
