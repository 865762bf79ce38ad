"""Builds the registry service: routers, partner-feed consumer, lifespan."""

from __future__ import annotations

from fastapi import FastAPI

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
)
from services.registry.handlers import partner_feeds
from shared import settings as settings_mod
from shared.app import create_app


def create(settings: settings_mod.Settings | None = None) -> FastAPI:
    return create_app(
        settings or settings_mod.load(SERVICE),
        title="Minzheng registry (登记)",
        description="The resident master index: persons, households, deaths, household-registration changes, marriages, adoptions, partner intake and its review queue, milestones.",
        routers=[
            persons.router, households.router, deaths.router, hukou.router, reviews.router, intake.router,
            marriages.router, divorces.router, adoptions.router, milestones.router,
        ],
        consumers=[partner_feeds],
    )
