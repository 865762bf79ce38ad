"""Builds the registry service: routers, partner-feed consumer, lifespan."""

from __future__ import annotations

from fastapi import FastAPI

from shared import settings as settings_mod
from shared.app import create_app
from services.registry import SERVICE
from services.registry.api import deaths, households, hukou, persons
from services.registry.handlers import partner_feeds


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng registry (登记)",
        description="The resident master index: persons, households, deaths, household-registration changes, partner intake.",
        routers=[persons.router, households.router, deaths.router, hukou.router],
        consumers=[partner_feeds],
    )
