"""Alembic environment of the registry."""

from shared.db import platform_metadata
from shared.migrations import run_env
from services.registry.models import Base

run_env([Base.metadata, platform_metadata])
