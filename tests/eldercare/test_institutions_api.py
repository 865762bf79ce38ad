"""Institutions: two admissions racing for the last bed (one 201, one 409), occupancy, discharge, inspections."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from services.eldercare.care.institutions import discharge_on_death
from tests.eldercare.helpers import fetch, register
from tests.support import Stack, token


async def new_institution(stack: Stack, beds: list[str], ownership: str = "public", division: str = "340207003") -> str:
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post(
            "/v1/institutions",
            json={"name": f"官陡敬老院-{uuid.uuid4().hex[:8]}", "ownership": ownership, "division": division},
        )
        assert r.status_code == 201, r.text
        institution_id = r.json()["institution_id"]
        r = await eldercare.post(f"/v1/institutions/{institution_id}/beds", json={"codes": beds})
        assert r.status_code == 201, r.text
    return institution_id


async def test_two_admissions_racing_for_the_last_bed_one_wins(stack: Stack) -> None:
    institution_id = await new_institution(stack, ["A-101", "A-102"])
    first, second, third = [await register(stack) for _ in range(3)]
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post(f"/v1/institutions/{institution_id}/admissions", json={"id_number": first})
        assert r.status_code == 201 and r.json()["bed_code"] == "A-101", r.text

        answers = await asyncio.gather(
            *(
                eldercare.post(f"/v1/institutions/{institution_id}/admissions", json={"id_number": n})
                for n in (second, third)
            )
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert (
            loser.headers["content-type"].startswith("application/problem+json")
            and loser.json()["errors"][0]["field"] == "bed_id"
        )

        occupancy = (await eldercare.get(f"/v1/institutions/{institution_id}")).json()["occupancy"]
        assert occupancy == {"beds": 2, "occupied": 2, "free": 0, "rate_percent": "100.0"}


async def test_the_same_bed_named_by_two_racing_admissions(stack: Stack) -> None:
    institution_id = await new_institution(stack, ["B-1"])
    a, b = await register(stack), await register(stack)
    async with stack["eldercare"].client() as eldercare:
        bed_id = (await eldercare.get(f"/v1/institutions/{institution_id}/beds")).json()[0]["bed_id"]
        answers = await asyncio.gather(
            *(
                eldercare.post(f"/v1/institutions/{institution_id}/admissions", json={"id_number": n, "bed_id": bed_id})
                for n in (a, b)
            )
        )
        assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    rows = await fetch(
        stack, "SELECT count(*) AS n FROM admissions WHERE bed_id = $1 AND discharged_on IS NULL", uuid.UUID(bed_id)
    )
    assert rows[0]["n"] == 1


async def test_discharge_frees_the_bed_and_a_person_holds_one_bed(stack: Stack) -> None:
    one = await new_institution(stack, ["C-1"])
    other = await new_institution(stack, ["D-1"], ownership="private")
    person = await register(stack)
    async with stack["eldercare"].client() as eldercare:
        assert (
            await eldercare.post(
                f"/v1/institutions/{one}/admissions", json={"id_number": person, "admitted_on": "2026-03-01"}
            )
        ).status_code == 201
        r = await eldercare.post(f"/v1/institutions/{other}/admissions", json={"id_number": person})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "id_number"

        r = await eldercare.post(
            f"/v1/institutions/{one}/discharges",
            json={"id_number": person, "discharged_on": "2026-02-01", "reason": "returned_home"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discharged_on"
        r = await eldercare.post(
            f"/v1/institutions/{one}/discharges",
            json={"id_number": person, "discharged_on": "2026-04-01", "reason": "transferred"},
        )
        assert r.status_code == 200 and r.json()["discharged_on"] == "2026-04-01", r.text
        assert (
            await eldercare.post(f"/v1/institutions/{other}/admissions", json={"id_number": person})
        ).status_code == 201
        residents = (await eldercare.get(f"/v1/institutions/{one}/admissions", params={"state": "all"})).json()
        assert residents["total"] == 1 and residents["items"][0]["discharge_reason"] == "transferred"
    types = await fetch(
        stack,
        "SELECT type FROM outbox WHERE envelope->'data'->>'id_number' = $1 AND type LIKE 'eldercare.%' ORDER BY seq",
        person,
    )
    assert [t["type"] for t in types] == [
        "eldercare.admission.recorded",
        "eldercare.discharge.recorded",
        "eldercare.admission.recorded",
    ]


async def test_monthly_inspection_with_findings_and_follow_up(stack: Stack) -> None:
    institution_id = await new_institution(stack, ["E-1"])
    async with stack["eldercare"].client() as eldercare:
        body = {
            "month": "2026-10",
            "inspected_on": "2026-10-15",
            "inspector": "张检查",
            "findings": [{"item": "消防通道", "severity": "major", "description": "堵塞"}],
        }
        r = await eldercare.post(f"/v1/institutions/{institution_id}/inspections", json=body)
        assert r.status_code == 201 and r.json()["follow_up_status"] == "open", r.text
        inspection_id = r.json()["inspection_id"]
        assert (await eldercare.post(f"/v1/institutions/{institution_id}/inspections", json=body)).status_code == 409
        r = await eldercare.post(
            f"/v1/institutions/{institution_id}/inspections/{inspection_id}/follow-up",
            json={"done_on": "2026-10-20", "note": "已清理"},
        )
        assert r.status_code == 200 and r.json()["follow_up_status"] == "closed"
        r = await eldercare.post(
            f"/v1/institutions/{institution_id}/inspections",
            json={**body, "month": "2026-11", "inspected_on": "2026-10-30"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "inspected_on"


async def test_another_towns_institution_is_not_found(stack: Stack) -> None:
    institution_id = await new_institution(stack, ["F-1"], division="340207001")
    clerk = token(sub="clerk-003", division="340207003")
    person = await register(stack, division="340207003002")
    async with stack["eldercare"].client(clerk) as eldercare:
        assert (await eldercare.get(f"/v1/institutions/{institution_id}")).status_code == 404
        assert (
            await eldercare.post(f"/v1/institutions/{institution_id}/admissions", json={"id_number": person})
        ).status_code == 404
        r = await eldercare.post(
            "/v1/institutions", json={"name": "四褐山养老院", "ownership": "private", "division": "340207001"}
        )
        assert r.status_code == 404
        listed = (await eldercare.get("/v1/institutions", params={"limit": 500})).json()["items"]
        assert all(i["division"].startswith("340207003") for i in listed)


async def test_discharge_on_death_closes_open_stays_in_one_statement(stack: Stack) -> None:
    institution_id = await new_institution(stack, ["G-1", "G-2"])
    died, alive = await register(stack), await register(stack)
    async with stack["eldercare"].client() as eldercare:
        ids = []
        for person in (died, alive):
            r = await eldercare.post(
                f"/v1/institutions/{institution_id}/admissions", json={"id_number": person, "admitted_on": "2026-05-01"}
            )
            assert r.status_code == 201, r.text
            ids.append(uuid.UUID(r.json()["person_id"]))
    async with stack["eldercare"].state.sessionmaker() as session, session.begin():
        assert await discharge_on_death(session, {ids[0]: date(2026, 11, 2), uuid.uuid4(): date(2026, 11, 1)}) == 1
        assert await discharge_on_death(session, {ids[0]: date(2026, 11, 2)}) == 0  # already discharged
    async with stack["eldercare"].client() as eldercare:
        stays = (await eldercare.get(f"/v1/institutions/{institution_id}/admissions", params={"state": "all"})).json()
        by_person = {s["person_id"]: s for s in stays["items"]}
        assert (by_person[str(ids[0])]["discharged_on"], by_person[str(ids[0])]["discharge_reason"]) == (
            "2026-11-02",
            "death",
        )
        assert by_person[str(ids[1])]["discharged_on"] is None
        occupancy = (await eldercare.get(f"/v1/institutions/{institution_id}")).json()["occupancy"]
        assert (occupancy["occupied"], occupancy["free"]) == (1, 1)
    events = await fetch(
        stack,
        "SELECT envelope->'data'->>'reason' AS reason FROM outbox WHERE type = 'eldercare.discharge.recorded'"
        " AND envelope->'data'->>'id_number' = $1",
        died,
    )
    assert [e["reason"] for e in events] == ["death"]
