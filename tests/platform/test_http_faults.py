"""A database that cannot be reached, or drops the connection mid-request, is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from starlette.requests import Request

from shared import devstack, problems
from tests.support import Infra, RunningService, eventually, new_id_number, start_service


def _assert_unavailable(r) -> None:  # noqa: ANN001 - an httpx.Response
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["status"] == 503


async def test_a_database_refusing_connections_is_a_503_with_retry_after(infra: Infra) -> None:
    closed = devstack.free_port()  # nothing listens there
    settings = infra.settings(
        "registry", database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/registry", consumers_enabled=False
    )
    registry = await start_service("registry", settings)
    try:
        async with registry.client() as c:
            _assert_unavailable(await c.get("/v1/persons", params={"division": "340207001"}))
            body = {"id_number": new_id_number(), "name": "王芳", "hukou_division": "340207001"}
            _assert_unavailable(await c.post("/v1/persons", json=body))
            _assert_unavailable(await c.get(f"/v1/persons/{uuid.uuid4()}"))
    finally:
        await registry.stop()


async def _service_backend(admin: asyncpg.Connection, database: str) -> int | None:
    """The service's connection that waits for the lock the test holds."""
    return await admin.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        database,
    )


async def test_a_connection_lost_in_the_middle_of_a_request_is_a_503_and_the_next_request_works(infra: Infra) -> None:
    """The request's query waits on a lock the test holds; the test kills its backend (what a restart does)."""
    database = f"registry_lost_{uuid.uuid4().hex[:6]}"
    url = infra.database(database, "registry")
    registry: RunningService = await start_service(
        "registry", infra.settings("registry", database_url=url, consumers_enabled=False)
    )
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        async with registry.client() as c:
            n = new_id_number()
            assert (
                await c.post("/v1/persons", json={"id_number": n, "name": "李娜", "hukou_division": "340207002"})
            ).status_code == 201
            locker = await asyncpg.connect(dsn)
            try:
                tx = locker.transaction()
                await tx.start()
                await locker.execute("LOCK TABLE persons IN ACCESS EXCLUSIVE MODE")
                pending = asyncio.create_task(c.get("/v1/persons", params={"division": "340207002"}))
                pid = await eventually(lambda: _service_backend(admin, database), timeout=10)
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                _assert_unavailable(await pending)
                await tx.rollback()
            finally:
                await locker.close()
            # The pool drops the dead connection; the same request now succeeds.
            r = await c.get("/v1/persons", params={"division": "340207002"})
            assert r.status_code == 200 and r.json()["total"] == 1, r.text
    finally:
        await admin.close()
        await registry.stop()


class _Driver(Exception):
    """Stands for the driver's exception SQLAlchemy wraps."""


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (sa_exc.IntegrityError("INSERT", {}, _Driver("duplicate key")), 409),
        (sa_exc.DataError("INSERT", {}, _Driver("value too long")), 422),
        (sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused")), 503),
        (sa_exc.InterfaceError("SELECT 1", {}, _Driver("connection is closed")), 503),
        (ConnectionResetError(104, "reset"), 503),
        (sa_exc.ProgrammingError("SELEC 1", {}, _Driver("syntax error")), 500),
    ],
)
def test_what_each_database_failure_answers(exc: BaseException, status: int) -> None:
    scope = {"type": "http", "method": "GET", "path": "/v1/x", "headers": [], "query_string": b""}
    response = problems.database_problem(Request(scope), exc)
    assert response.status_code == status
    assert ("retry-after" in response.headers) == (status == 503)
