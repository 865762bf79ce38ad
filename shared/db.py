"""Database: the async engine and sessions, the platform tables, and division scoping.

Each service declares its own tables on its own `Base`; the platform tables
(outbox, processed events, audit log) live on `platform_metadata` and every
service's migrations create them in its own database.

Jurisdiction is enforced here, in the one layer every ORM query passes
through: a session carrying a caller's division (`session.info["division"]`)
adds `hukou_division LIKE '<division>%'` to every select of a
`DivisionScoped` entity, so no route can forget it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

platform_metadata = MetaData(naming_convention=NAMING)

outbox = Table(
    "outbox",
    platform_metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
)

processed_events = Table(
    "processed_events",
    platform_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("topic", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

audit_log = Table(
    "audit_log",
    platform_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", String(200), nullable=False),
    Column("division", String(12), nullable=False),
    Column("action", String(20), nullable=False),
    Column("endpoint", String(300), nullable=False),
    Column("person_id", UUID(as_uuid=True)),
    Column("subject", String(200)),
    Column("request_id", String(64)),
    Index("ix_audit_log_person_id_at", "person_id", "at"),
)


class DivisionScoped:
    """Mixin: rows belong to a division; a caller sees only those inside its own."""

    @declared_attr
    def hukou_division(cls) -> Mapped[str]:  # noqa: N805
        return mapped_column(String(12), index=True)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_division(state: ORMExecuteState) -> None:
    division = state.session.info.get("division")
    if division and state.is_select and not state.is_column_load and not state.is_relationship_load:
        state.statement = state.statement.options(
            with_loader_criteria(
                DivisionScoped,
                lambda cls: cls.hukou_division.startswith(division),  # codes are digits: nothing to escape
                include_aliases=True,
            )
        )


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=kwargs.pop("pool_size", 10),  # type: ignore[arg-type]
        max_overflow=kwargs.pop("max_overflow", 10),  # type: ignore[arg-type]
        pool_pre_ping=True,
        **kwargs,  # type: ignore[arg-type]
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession], division: str | None = None
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        if division:
            session.info["division"] = division
        yield session


class unscoped:  # noqa: N801 - used as a context manager
    """Lift division scoping for a district-wide check (uniqueness, a move-in from elsewhere)."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.division: str | None = None

    def __enter__(self) -> AsyncSession:
        self.division = self.session.info.pop("division", None)
        return self.session

    def __exit__(self, *_exc: object) -> None:
        if self.division:
            self.session.info["division"] = self.division
