"""is_transient: a dependency being away waits; an event's own fault is dead-lettered.

Real errors where they are cheap to cause (a refused connection, a unique
violation, a serialization failure between two transactions), built ones for
the rest.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from sqlalchemy import exc as sa
from sqlalchemy import text

from shared.consumer import Reject
from shared.db import make_engine
from shared.events import InvalidPayload, MalformedEvent
from shared.faults import dependency_of, is_transient, met_concurrent_work
from tests.support import Infra


class _Orig(Exception):
    """What a DBAPI driver raises, with its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _dbapi(cls: type[sa.DBAPIError], sqlstate: str = "XX000", invalidated: bool = False) -> sa.DBAPIError:
    return cls("SELECT 1", {}, _Orig(sqlstate), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "exc",
    [
        _dbapi(sa.OperationalError),
        _dbapi(sa.InterfaceError),
        _dbapi(sa.DBAPIError, invalidated=True),
        _dbapi(sa.DBAPIError, "40001"),  # serialization failure
        _dbapi(sa.DBAPIError, "40P01"),  # deadlock
        _dbapi(sa.DBAPIError, "08006"),  # connection failure
        _dbapi(sa.DBAPIError, "57P01"),  # admin shutdown
        _dbapi(sa.DBAPIError, "57P03"),  # cannot connect now (starting up)
        sa.TimeoutError("pool exhausted"),
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError(),
        OSError(113, "no route to host"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        KafkaConnectionError("no broker"),
        KafkaTimeoutError(),
        httpx.ConnectError("refused"),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.orig.sqlstate}" if isinstance(e, sa.DBAPIError) else ""),
)
def test_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        KeyError("person_id"),
        Reject("a rule refuses it"),
        InvalidPayload("data does not fit"),
        MalformedEvent("not JSON"),
        _dbapi(sa.IntegrityError, "23505"),  # unique violation: the same again fails the same way
        _dbapi(sa.DataError, "22001"),  # value too long
        _dbapi(sa.ProgrammingError, "42P01"),  # a table missing: a bug, not an outage
    ],
    ids=lambda e: type(e).__name__,
)
def test_deterministic(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_a_deadlock_is_told_apart_from_an_outage() -> None:
    """Both are answered 503 and retried; the answer and the log say which it was."""
    for sqlstate in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock not available
        assert met_concurrent_work(_dbapi(sa.DBAPIError, sqlstate))
    for outage in (_dbapi(sa.OperationalError, "08006"), _dbapi(sa.DBAPIError, "57P01"), ConnectionRefusedError()):
        assert is_transient(outage)
        assert not met_concurrent_work(outage)


def test_causes_are_followed_only_when_explicit() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except OSError as inner:
            raise RuntimeError("wrapped on purpose") from inner
    except RuntimeError as exc:
        assert is_transient(exc)
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except OSError:
            raise ValueError("a handler decided this is the event's fault")  # noqa: B904 - the point of the test
    except ValueError as exc:
        assert not is_transient(exc)


def test_dependency_named() -> None:
    assert dependency_of(KafkaConnectionError("x")) == "broker"
    assert dependency_of(_dbapi(sa.OperationalError)) == "database"
    assert dependency_of(httpx.ConnectError("x")) == "http"


async def test_real_errors_from_postgresql(infra: Infra) -> None:
    """A refused connection and a serialization failure are transient; a unique violation is not."""
    nowhere = make_engine(infra.pg.url("registry").replace(f":{infra.pg.port}/", ":9/"))
    try:
        with pytest.raises(Exception) as refused:  # noqa: PT011 - whatever the driver raises is the test
            async with nowhere.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert is_transient(refused.value)
    finally:
        await nowhere.dispose()

    engine = make_engine(infra.pg.url("registry"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE faults_probe (k int PRIMARY KEY, v int)"))
            await conn.execute(text("INSERT INTO faults_probe VALUES (1, 0), (2, 0)"))
        with pytest.raises(sa.IntegrityError) as unique:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO faults_probe VALUES (1, 0)"))
        assert not is_transient(unique.value)
        assert is_transient(await _serialization_failure(engine))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS faults_probe"))
        await engine.dispose()


async def _serialization_failure(engine) -> BaseException:  # noqa: ANN001
    """Two serializable transactions that each read what the other writes: one must fail (40001)."""
    a, b = await engine.connect(), await engine.connect()
    try:
        for conn in (a, b):
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
        await a.execute(text("SELECT sum(v) FROM faults_probe"))
        await b.execute(text("SELECT sum(v) FROM faults_probe"))
        await a.execute(text("UPDATE faults_probe SET v = 1 WHERE k = 1"))
        await b.execute(text("UPDATE faults_probe SET v = 1 WHERE k = 2"))
        await a.commit()
        try:
            await b.commit()
        except sa.DBAPIError as exc:
            assert exc.orig.sqlstate == "40001"  # type: ignore[union-attr]
            return exc
        raise AssertionError("no serialization failure")
    finally:
        await asyncio.gather(a.close(), b.close(), return_exceptions=True)
