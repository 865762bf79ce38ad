"""The seeded standards (the migration's own rows) for the pure rule tests."""

from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.assistance.domain.standards import StandardRow, Standards

_MIGRATION = (
    Path(__file__).resolve().parents[2] / "services/assistance/migrations/versions/0002_standards.py"
)


def seed_rows() -> list[StandardRow]:
    spec = importlib.util.spec_from_file_location("assistance_seed", _MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [StandardRow(k, Decimal(v), date(2022, 1, 1), s) for k, v, s in module.SEED]


SEED = seed_rows()


def standards(on: date = date(2026, 11, 1), **overrides: str) -> Standards:
    """The seeded figures in force on `on`; `overrides` add rows effective that day (dots as __)."""
    extra = [StandardRow(k.replace("__", "."), Decimal(v), on, "test") for k, v in overrides.items()]
    return Standards(SEED + extra, on)
