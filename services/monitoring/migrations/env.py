"""Alembic environment of the monitoring service."""

from shared.db import platform_metadata
from shared.migrations import run_env
from shared.people import people_metadata
from services.monitoring.models import Base

run_env([Base.metadata, platform_metadata, people_metadata])
