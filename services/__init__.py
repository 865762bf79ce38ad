"""The four Minzheng services, and the registry of them that the `minzheng` command passes down.

shared/ knows no service: the command (services/cli.py), the contract
generator and the migrations are given these entries by their caller. An entry
imports its service's app or handlers only when asked, so `minzheng serve
registry` does not load the other three services.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.consumer import Consumer
    from shared.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ServiceModule:
    """One service: its name, its default local port, where its code and migrations are."""

    name: str
    port: int

    @property
    def migrations(self) -> Path:
        """The service's Alembic directory (env.py and versions/)."""
        return PACKAGE_DIR / self.name / "migrations"

    def create_app(self) -> Callable[[Settings], FastAPI]:
        """The service's app factory (imports the service's app module)."""
        return importlib.import_module(f"{__name__}.{self.name}.app").create

    def consumers(self) -> list[Consumer]:
        """The consumers the service registers in its handlers module."""
        from shared.consumer import Consumer

        module = importlib.import_module(f"{__name__}.{self.name}.handlers")
        return [value for value in vars(module).values() if isinstance(value, Consumer)]


MODULES: dict[str, ServiceModule] = {
    m.name: m
    for m in (
        ServiceModule("registry", 8001),
        ServiceModule("assistance", 8002),
        ServiceModule("eldercare", 8003),
        ServiceModule("monitoring", 8004),
    )
}
SERVICES: tuple[str, ...] = tuple(MODULES)
ADMIN_SCOPES = " ".join([f"{s}:{m}" for s in SERVICES for m in ("read", "write")] + ["pii:read"])


def consumers_by_service() -> dict[str, list[Consumer]]:
    """Every service's consumers, for the contract generator."""
    return {name: m.consumers() for name, m in MODULES.items()}
