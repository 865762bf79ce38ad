"""Settings: per-service variables win, and production never invents a signing key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared import settings


def test_a_service_prefixed_variable_wins_over_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/plain")
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", "postgresql+asyncpg://db/eldercare")
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    assert settings.load("eldercare").database_url.endswith("/eldercare")
    assert settings.load("assistance").database_url.endswith("/plain")
    # The local port is the caller's default (services/ knows it, shared/ does not); the environment wins over it.
    assert settings.load("eldercare", defaults={"port": 8003}).port == 8003
    monkeypatch.setenv("ELDERCARE_PORT", "9103")
    assert settings.load("eldercare", defaults={"port": 8003}).port == 9103


def test_production_refuses_to_start_without_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="JWT_SECRET is required"):
        settings.load("registry")
