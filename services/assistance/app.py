"""Builds the assistance service."""

from __future__ import annotations

from fastapi import FastAPI

from services import MODULES
from services.assistance import SERVICE, application_batch
from services.assistance.api import (
    applications,
    cases,
    lead_drafts,
    one_offs,
    overpayments,
    payroll_months,
    payrolls,
    standards,
)
from services.assistance.handlers import lead_events, registry_events
from shared import settings as settings_mod
from shared.app import create_app


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng assistance (社会救助)",
        description="Social assistance: dibao, tekun, temporary assistance, orphans, disability subsidies.",
        routers=[
            cases.router,
            standards.router,
            application_batch.router,
            lead_drafts.router,  # before applications: /drafts is not an application's id
            applications.router,
            payroll_months.router,
            payrolls.router,
            one_offs.router,
            overpayments.router,
        ],
        migrations_dir=MODULES[SERVICE].migrations,
        consumers=[registry_events, lead_events],
    )
