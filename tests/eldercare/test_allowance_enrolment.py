"""Enrolling in the allowance: one upsert gives a new allowance, starts a stopped one again, refuses an active one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.support import RunningService, Stack, new_id_number


async def _one(service: RunningService, sql: str, **params: Any) -> Any:
    async with service.state.sessionmaker() as s:
        return (await s.execute(text(sql), params)).one()


async def test_a_stopped_allowance_is_started_again_and_an_active_one_refused(stack: Stack) -> None:
    n = new_id_number(min_age=82, max_age=90)
    async with stack["registry"].client() as c:
        r = await c.post("/v1/persons", json={"id_number": n, "name": "郑秀兰", "hukou_division": "340207001001"})
        assert r.status_code == 201, r.text
    eldercare = stack["eldercare"]
    async with eldercare.client() as c:
        first = await c.post("/v1/allowances", json={"id_number": n})
        assert first.status_code == 201, first.text
        assert (await c.post("/v1/allowances", json={"id_number": n})).status_code == 409  # active: refused
        async with eldercare.state.sessionmaker() as s:  # stopped, as a move out of the district stops it
            stop = "UPDATE allowances SET status = 'stopped', stopped_on = DATE '2024-01-31', stop_reason = 'moved_out'"
            await s.execute(text(f"{stop} WHERE id_number = :n"), {"n": n})
            await s.commit()
        again = await c.post("/v1/allowances", json={"id_number": n})
        assert again.status_code == 201, again.text
        assert again.json()["allowance_id"] == first.json()["allowance_id"]  # the same allowance, started again
    row = await _one(
        eldercare,
        "SELECT count(*) AS n, min(status) AS status, min(stopped_on) AS stopped_on, "
        "min(stop_reason) AS reason FROM allowances WHERE id_number = :n",
        n=n,
    )
    assert (row.n, row.status, row.stopped_on, row.reason) == (1, "active", None, None)
    enrolled = "SELECT count(*) AS n FROM outbox WHERE type = 'eldercare.allowance.enrolled' AND key = :k"
    assert (await _one(eldercare, enrolled, k=first.json()["person_id"])).n == 2
