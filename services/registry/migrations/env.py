"""Alembic environment of the registry."""

from services.registry.models import Base
from shared.db import platform_metadata
from shared.migrations import run_env

run_env([Base.metadata, platform_metadata])
