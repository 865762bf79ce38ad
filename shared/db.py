"""Database: the async engine and sessions, the platform tables, and division scoping.

Each service declares its own tables on its own `Base`; the platform tables
(outbox, processed events, audit log) live on `platform_metadata` and every
service's migrations create them in its own database.

Jurisdiction is enforced here, in the one layer every ORM query passes
through: a session carrying a caller's division (`session.info["division"]`)
adds the rule `divisions.covers` to every select, update and delete of a
`DivisionScoped` entity, so no route can forget it. Writes that name a
person or a division the caller supplied pass `guard()`, the same rule
answering 404, so a caller cannot tell "elsewhere" from "unknown".
`unscoped()` lifts the filter for the few district-wide checks (an identity
number is unique in the district, a move-in from elsewhere); what they find
is used to decide, never returned to the caller.

The filter sees ORM statements (an entity or its attributes). A set-based
path that selects from a table directly (the registry's intake, the
consumers' bulk handlers) reads district-wide on purpose and applies
`divisions.covers` itself before it answers a caller.
"""

from __future__ import annotations

import functools
import os
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    Identity,
    Index,
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
    LoaderCriteriaOption,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from shared import divisions, outbox_schema
from shared.problems import NotFound

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
    # No primary key: `seq` is unique by its identity, and read only through ix_outbox_unpublished.
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("published_at", DateTime(timezone=True)),
    # The CloudEvent's varying parts; the envelope is computed from them when read (shared/outbox_schema.py).
    Column("subject", Text),  # NULL when it is the key (most types): the envelope reads coalesce(subject, key)
    Column("time", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("envelope", JSONB, Computed(outbox_schema.ENVELOPE, persisted=False)),
    Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    # Room for each row's published version on its own page (shared/outbox_schema.room_upgrade).
    postgresql_with={"fillfactor": outbox_schema.FILLFACTOR},
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
    division = scope_of(state.session)
    if division is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(_division_criteria(division))


@functools.lru_cache(maxsize=256)
def _division_criteria(division: str) -> LoaderCriteriaOption:
    """The session filter's option for one division, built once: building it analyses the lambda each time."""
    return with_loader_criteria(
        DivisionScoped,
        lambda cls: divisions.covers_clause(cls.hukou_division, division),
        include_aliases=True,
    )


def scope_of(session: AsyncSession | Session) -> str | None:
    """The caller's division the session is scoped to; None for the platform's own work (district-wide)."""
    return session.info.get("division")


def guard(
    session: AsyncSession, division: str | None, *, field: str, detail: str = "no such person in your division"
) -> None:
    """The write guard: 404 unless the session's caller covers `division` (where the target actually is).

    Used where a write names its target by something the caller supplies (an
    identity number, a division code) and the target was found by a
    district-wide lookup; the answer is the one an unknown target gets.
    """
    if not divisions.covers(scope_of(session), division):
        raise NotFound(detail, field=field)


_ID_POOL: list[uuid.UUID] = []
os.register_at_fork(after_in_child=_ID_POOL.clear)  # a forked worker never hands out its parent's ids


def new_id() -> uuid.UUID:
    """A random (version 4) UUID, as uuid4() makes, drawn from a pool filled by one os.urandom call per thousand.

    uuid4() reads the system's random source once per id; here that system call
    costs a few microseconds, and ids are taken several times an event (the
    event itself, history rows, batch lines).
    """
    if not _ID_POOL:
        raw = os.urandom(16 * 1024)
        _ID_POOL.extend(_uuid4(int.from_bytes(raw[i : i + 16]) & _V4_MASK | _V4_BITS) for i in range(0, len(raw), 16))
    return _ID_POOL.pop()


# The bits uuid.UUID(bytes=..., version=4) sets: the variant (RFC 4122) and the version. The UUID is then made
# without UUID.__init__'s argument checks, which cost three times what the rest of an id did.
_V4_MASK = ~((0xC000 << 48) | (0xF000 << 64))
_V4_BITS = (0x8000 << 48) | (4 << 76)


def _uuid4(value: int) -> uuid.UUID:
    """The UUID of a 128-bit number whose variant and version bits are already set (what UUID(int=...) gives)."""
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    return create_async_engine(
        url,
        # Enough kept connections for 32 requests at once: a connection opened past the pool's size is
        # closed on return, and opening one (TLS probe, codecs) cost more CPU than the read it served.
        pool_size=kwargs.pop("pool_size", 32),  # type: ignore[arg-type]
        max_overflow=kwargs.pop("max_overflow", 8),  # type: ignore[arg-type]
        # Last returned, first handed out: a quiet service keeps using a few warm connections, whose
        # prepared statements are cached, instead of cycling through all of them and preparing on each.
        pool_use_lifo=True,
        # No ping at checkout: with asyncpg it is three round trips (BEGIN, a query,
        # ROLLBACK) before every request's own. A connection the server dropped
        # fails on use, is recognised as a disconnect, and the pool is renewed.
        pool_pre_ping=False,
        **kwargs,  # type: ignore[arg-type]
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class unscoped:  # noqa: N801 - used as a context manager
    """Lift division scoping for a district-wide check (uniqueness, a move-in from elsewhere).

    What such a check finds decides the answer; it is never itself returned
    to a caller of another division.
    """

    def __init__(self, session: AsyncSession):
        self.session = session
        self.division: str | None = None

    def __enter__(self) -> AsyncSession:
        self.division = self.session.info.pop("division", None)
        return self.session

    def __exit__(self, *_exc: object) -> None:
        if self.division:
            self.session.info["division"] = self.division
