"""Assistance learns persons from registry events, and asks the registry when it has not yet."""

from __future__ import annotations

from sqlalchemy import delete, select

from shared.people import people
from tests.support import Stack, eventually, new_id_number


async def test_enrolment_asks_the_registry_for_a_person_not_yet_heard_of(stack: Stack) -> None:
    n = new_id_number()
    sessionmaker = stack["assistance"].state.sessionmaker
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        person = {"id_number": n, "name": "吴国华", "hukou_division": "340207005"}
        person_id = (await reg.post("/v1/persons", json=person)).json()["person_id"]

        async def learned() -> bool:
            async with sessionmaker() as s:
                return (await s.execute(select(people.c.person_id).where(people.c.id_number == n))).first() is not None

        await eventually(learned)
        async with sessionmaker() as s, s.begin():
            await s.execute(delete(people).where(people.c.id_number == n))  # as if the event were still on its way
        r = await c.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "600.00"})
        assert r.status_code == 201, r.text
        assert r.json()["person_id"] == person_id and r.json()["hukou_division"] == "340207005"
        assert await learned()


async def test_enrolling_someone_the_registry_does_not_know_is_refused(stack: Stack) -> None:
    async with stack["assistance"].client() as c:
        body = {"id_number": new_id_number(), "program": "dibao", "monthly_amount": "600.00"}
        r = await c.post("/v1/cases", json=body)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "id_number"
