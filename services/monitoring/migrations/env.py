"""Alembic environment of the monitoring service."""

from services.monitoring.models import Base
from shared.db import platform_metadata
from shared.migrations import run_env
from shared.people import people_metadata

run_env([Base.metadata, platform_metadata, people_metadata])
