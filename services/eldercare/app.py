"""Builds the eldercare service."""

from __future__ import annotations

from fastapi import FastAPI

from services import MODULES
from services.eldercare import SERVICE
from services.eldercare.api import allowances, assessments, institutions, providers, rosters, service_orders
from services.eldercare.guarantees import assistance_events
from services.eldercare.handlers import registry_events
from shared import settings as settings_mod
from shared.app import create_app


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng eldercare (养老服务)",
        description="Eldercare: the old-age allowance, assessments, home care, institutions.",
        routers=[
            allowances.router,
            assessments.router,
            institutions.router,
            providers.router,
            service_orders.router,
            rosters.router,
        ],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[registry_events, assistance_events],
    )
