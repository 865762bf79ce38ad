"""The seeded standards (the migration's own rows) for the pure rule tests."""

from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.assistance.domain.standards import StandardRow, Standards

_VERSIONS = Path(__file__).resolve().parents[2] / "services/assistance/migrations/versions"
_SEEDING = ("0002_standards.py", "0003_applications.py")


def seed_rows() -> list[StandardRow]:
    rows = []
    for name in _SEEDING:
        spec = importlib.util.spec_from_file_location(f"assistance_seed_{name[:4]}", _VERSIONS / name)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        rows += [StandardRow(k, Decimal(v), date(2022, 1, 1), s) for k, v, s in module.SEED]
    return rows


SEED = seed_rows()


def standards(on: date = date(2026, 11, 1), **overrides: str) -> Standards:
    """The seeded figures in force on `on`; `overrides` add rows effective that day (dots as __)."""
    extra = [StandardRow(k.replace("__", "."), Decimal(v), on, "test") for k, v in overrides.items()]
    return Standards(SEED + extra, on)
