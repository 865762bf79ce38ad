"""Settings, one place: read from the environment (pydantic-settings).

Every variable can be given per service with the service's name as prefix
(`REGISTRY_DATABASE_URL`), which wins over the plain name (`DATABASE_URL`);
that lets one environment (a developer's shell, the local stack) hold all
four services' settings, while a container sets the plain names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8000
PROJECT_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("MINZHENG_HOME", PROJECT_DIR / ".minzheng"))


def local_jwt_secret() -> str:
    """The local signing key, made once and kept under .minzheng/ (never used in production)."""
    path = STATE_DIR / "jwt-secret"
    if not path.exists():
        import secrets

        STATE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    service: str
    # "production" refuses to start without JWT_SECRET instead of making a local key:
    # replicas each inventing their own key would reject each other's tokens.
    environment: Literal["local", "production"] = "local"
    database_url: str = ""
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_acks: str = "all"
    kafka_enable_idempotence: bool = False
    kafka_request_timeout_ms: int = Field(10_000, ge=500)
    consumer_group: str = ""
    consumers_enabled: bool = True
    daily_discovery: bool = True  # eldercare's nightly allowance discovery (off: ELDERCARE_DAILY_DISCOVERY=off)
    daily_warnings: bool = True  # monitoring's nightly warnings run (off: MONITORING_DAILY_WARNINGS=off)
    consumer_session_timeout_ms: int = 10_000
    consumer_fetch_max_wait_ms: int = Field(50, ge=1, le=5000)
    consumer_batch_size: int = Field(1000, ge=1, le=5000)
    consumer_max_retries: int = Field(3, ge=1, le=20)
    consumer_retry_backoff_seconds: float = 0.2
    jwt_secret: str = ""
    jwt_algorithm: str = "HS256"
    registry_url: str = "http://127.0.0.1:8001"
    assistance_url: str = "http://127.0.0.1:8002"  # monitoring's reconciliation reads cases here
    eldercare_url: str = "http://127.0.0.1:8003"  # and allowances here
    service_token: str = ""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    log_format: str = "json"
    otel_exporter_otlp_endpoint: str = ""
    otel_service_name: str = ""
    shutdown_grace_seconds: float = 20.0
    outbox_batch_size: int = 1000
    outbox_poll_seconds: float = 1.0
    outbox_retention_days: int = 7
    topic_partitions: int = 3
    topic_replication: int = 1

    def model_post_init(self, _context: object) -> None:
        if not self.consumer_group:
            self.consumer_group = f"minzheng-{self.service}"
        if not self.jwt_secret:
            if self.environment == "production":
                raise ValueError("JWT_SECRET is required when ENVIRONMENT=production")
            self.jwt_secret = local_jwt_secret()
        if not self.otel_service_name:
            self.otel_service_name = f"minzheng-{self.service}"
        if not self.database_url:
            self.database_url = f"postgresql+asyncpg://postgres@127.0.0.1:55432/{self.service}"


def from_environment(service: str, name: str) -> bool:
    """Whether the environment sets the field `name` for `service` (prefixed or plain)."""
    return f"{service.upper()}_{name.upper()}" in os.environ or name.upper() in os.environ


def load(service: str, defaults: Mapping[str, object] | None = None, **overrides: object) -> Settings:
    """Settings for one service: `<SERVICE>_X` wins over `X`, explicit overrides win over both.

    `defaults` are the caller's values for fields the environment leaves unset
    (the local port of each service, which only the caller knows).
    """
    prefixed = {
        name: os.environ[f"{service.upper()}_{name.upper()}"]
        for name in Settings.model_fields
        if f"{service.upper()}_{name.upper()}" in os.environ
    }
    unset = {k: v for k, v in (defaults or {}).items() if not from_environment(service, k)}
    return Settings(service=service, **{**unset, **prefixed, **overrides})
