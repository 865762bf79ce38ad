"""Capacity assessments through the API: the level computed from the scores, a reassessment supersedes, the event."""

from __future__ import annotations

import asyncio

from services.eldercare.domain.assessment import ITEMS
from tests.eldercare.helpers import fetch, register
from tests.eldercare.test_assessment_rules import WORKED
from tests.support import Stack, token


async def test_level_is_computed_and_a_reassessment_supersedes(stack: Stack) -> None:
    id_number = await register(stack)
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post(
            "/v1/assessments", json={"id_number": id_number, "scores": WORKED[2], "assessed_on": "2026-01-10"}
        )
        assert r.status_code == 201, r.text
        first = r.json()
        assert (first["level"], first["level_name"], first["total"], first["current"]) == (2, "moderate", 57, True)
        assert first["subtotals"] == {"self_care": 20, "basic_mobility": 8, "mental_state": 22, "perception_social": 7}

        r = await eldercare.post(
            "/v1/assessments",
            json={
                "id_number": id_number,
                "scores": WORKED[2],
                "assessed_on": "2026-06-10",
                "reason": "immediate",
                "risk_events_30d": ["fall", "choking"],
            },
        )
        assert r.status_code == 201, r.text
        second = r.json()
        assert (second["preliminary_level"], second["level"]) == (2, 3)

        current = (await eldercare.get("/v1/assessments", params={"id_number": id_number})).json()
        assert [a["assessment_id"] for a in current["items"]] == [second["assessment_id"]]
        everything = (
            await eldercare.get("/v1/assessments", params={"id_number": id_number, "include_superseded": "true"})
        ).json()
        assert {a["assessment_id"]: a["superseded_by"] for a in everything["items"]} == {
            second["assessment_id"]: None,
            first["assessment_id"]: second["assessment_id"],
        }

        # A reassessment cannot predate the current one.
        r = await eldercare.post(
            "/v1/assessments", json={"id_number": id_number, "scores": WORKED[0], "assessed_on": "2026-03-01"}
        )
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "assessed_on"

    events = await fetch(
        stack,
        "SELECT (envelope->'data'->>'care_level')::int AS level FROM outbox"
        " WHERE type = 'eldercare.assessment.completed' AND envelope->'data'->>'id_number' = $1",
        id_number,
    )
    assert sorted(e["level"] for e in events) == [2, 3]


async def test_a_typed_level_or_a_bad_score_is_refused_naming_the_field(stack: Stack) -> None:
    id_number = await register(stack)
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post("/v1/assessments", json={"id_number": id_number, "scores": WORKED[1], "level": 0})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "level"
        r = await eldercare.post("/v1/assessments", json={"id_number": id_number, "scores": {**WORKED[1], "stairs": 9}})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.stairs"
        missing = {k: v for k, v in WORKED[1].items() if k != "hearing"}
        r = await eldercare.post("/v1/assessments", json={"id_number": id_number, "scores": missing})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.hearing"
        assert (await eldercare.get("/v1/assessments", params={"id_number": id_number})).json()["total"] == 0
    assert len(ITEMS) == 26


async def test_another_towns_resident_is_unknown_to_a_town_clerk(stack: Stack) -> None:
    id_number = await register(stack, division="340207001002")
    clerk = token(sub="clerk-003", division="340207003")
    async with stack["eldercare"].client(clerk) as eldercare:
        r = await eldercare.post("/v1/assessments", json={"id_number": id_number, "scores": WORKED[0]})
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "id_number"
    async with stack["eldercare"].client() as district:
        r = await district.post("/v1/assessments", json={"id_number": id_number, "scores": WORKED[0]})
        assert r.status_code == 201, r.text
        assessment_id = r.json()["assessment_id"]
    async with stack["eldercare"].client(clerk) as eldercare:
        assert (await eldercare.get(f"/v1/assessments/{assessment_id}")).status_code == 404
        assert (await eldercare.get("/v1/assessments", params={"id_number": id_number})).json()["items"] == []


async def test_the_same_sheet_sent_8_times_at_once_is_one_assessment(stack: Stack) -> None:
    id_number = await register(stack)
    body = {"id_number": id_number, "scores": WORKED[3], "assessed_on": "2026-09-01"}
    async with stack["eldercare"].client() as eldercare:
        assert (await eldercare.post("/v1/assessments", json={**body, "assessed_on": "2026-02-01"})).status_code == 201
        answers = await asyncio.gather(*(eldercare.post("/v1/assessments", json=body) for _ in range(8)))
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
        assert len({a.json()["assessment_id"] for a in answers}) == 1
        everything = await eldercare.get(
            "/v1/assessments", params={"id_number": id_number, "include_superseded": "true"}
        )
        assert everything.json()["total"] == 2
    events = await fetch(
        stack,
        "SELECT count(*) AS n FROM outbox WHERE type = 'eldercare.assessment.completed'"
        " AND envelope->'data'->>'id_number' = $1",
        id_number,
    )
    assert events[0]["n"] == 2
