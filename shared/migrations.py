"""Alembic, one history per service: `minzheng migrate SERVICE` runs it as its own step.

Each service keeps its own Alembic directory (env.py and versions/) and
passes its location in: this module knows no service. The platform tables
come with each service's first revision.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine


def config(location: Path, url: str) -> Config:
    """Alembic's configuration for the history in `location` against the database at `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(location: Path, url: str, revision: str = "head") -> None:
    command.upgrade(config(location, url), revision)


def head(location: Path) -> str | None:
    return ScriptDirectory.from_config(config(location, "")).get_current_head()


def state(location: Path, current_revision: str | None) -> str:
    """`current`, `pending` (an older revision this code knows), `ahead` (a newer one), or `empty`.

    A database ahead of the code is what old pods see during a rollout once the
    new migration job has run: they keep serving, so readiness must not fail.
    """
    if current_revision is None:
        return "empty"
    script = ScriptDirectory.from_config(config(location, ""))
    if current_revision == script.get_current_head():
        return "current"
    known = {rev.revision for rev in script.walk_revisions()}
    return "pending" if current_revision in known else "ahead"


async def current(conn: AsyncConnection) -> str | None:
    def _current(sync: Connection) -> str | None:
        return MigrationContext.configure(sync).get_current_revision()

    return await conn.run_sync(_current)


def run_env(target_metadata: list[MetaData]) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")

    def do_migrations(sync: Connection) -> None:
        context.configure(connection=sync, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            await conn.run_sync(do_migrations)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run())
