"""POST /v1/applications/batch: a caseload taken on by the single path's rules, each step on its date."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

from shared import identity
from tests.assistance.test_applications import dibao_application, family, next_month, sql
from tests.support import _ISSUED, Stack, new_id_number, token

TOWN = "340207003"


def line(application: dict[str, Any], submitted: date, reviewed: date | None, confirmed: date | None) -> bytes:
    body: dict[str, Any] = {"application": application, "submitted_on": submitted.isoformat()}
    if reviewed:
        body["reviewed_on"] = reviewed.isoformat()
    if confirmed:
        body["confirmed_on"] = confirmed.isoformat()
    return json.dumps(body).encode() + b"\n"


async def test_a_caseload_is_taken_on_line_by_line_by_the_rules_of_the_single_path(stack: Stack) -> None:
    today = date.today()
    reviewed, confirmed = today - timedelta(days=10), today - timedelta(days=2)
    clerk = token(sub="guandou-clerk", division=TOWN)
    async with stack["registry"].client() as reg, stack["assistance"].client(clerk) as c:
        first, second = await family(reg), await family(reg)
        body = b"".join(
            [
                line(dibao_application(first), reviewed, reviewed, confirmed),
                line(dibao_application(first), reviewed, reviewed, confirmed),  # the same household again
                line(dibao_application(second), today - timedelta(days=3), today - timedelta(days=3), today),
                b"{not json\n",
                line(dibao_application(second), today, today, today + timedelta(days=8)),
            ]
        )
        r = await c.post("/v1/applications/batch", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    answers = [json.loads(x) for x in r.text.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5]
    assert [a["status"] for a in answers] == [201, 422, 409, 422, 422], answers
    done = answers[0]
    # The worked example of test_applications: the same assessment as the single path.
    assert (done["application_status"], done["eligible"], done["monthly_total"]) == ("confirmed", True, "1790.01")
    assert done["paid_from"] == next_month(confirmed).isoformat()
    assert "public notice runs until" in answers[2]["detail"]
    assert "after today" in answers[4]["detail"]
    steps = await sql(
        stack,
        "SELECT step, actor FROM application_steps WHERE application_id = :id ORDER BY id",
        id=done["application_id"],
    )
    assert steps == [
        ("submitted", "guandou-clerk"),
        ("reviewed", "guandou-clerk"),
        ("notice_started", "guandou-clerk"),
        ("confirmed", "guandou-clerk"),
    ]
    dates = await sql(
        stack,
        "SELECT submitted_on, notice_from, notice_until, confirmed_on FROM applications WHERE id = :id",
        id=done["application_id"],
    )
    assert dates == [(reviewed, reviewed, reviewed + timedelta(days=7), confirmed)]
    cases = await sql(
        stack, "SELECT count(*), min(started_on) FROM cases WHERE application_id = :id", id=done["application_id"]
    )
    assert cases == [(3, next_month(confirmed))]
    refused = await sql(
        stack,
        "SELECT count(*) FROM applications WHERE applicant_id_number = :n",
        n=second[0],
    )
    assert refused == [(0,)], "a refused line leaves nothing behind"


async def twins(reg: Any, ages: list[tuple[int, int]]) -> tuple[list[str], list[str]]:
    """Two households of persons born on the same days (so assessed alike), registered in the town."""
    first = [new_id_number(min_age=lo, max_age=hi) for lo, hi in ages]
    second = []
    for number in first:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        while (twin := identity.make("340207", born, random.randint(0, 999))) in _ISSUED or twin == number:
            pass
        _ISSUED.add(twin)
        second.append(twin)
    for number in first + second:
        r = await reg.post("/v1/persons", json={"id_number": number, "name": "王某", "hukou_division": TOWN + "001"})
        assert r.status_code == 201, r.text
    return first, second


async def recorded(stack: Stack, application_id: str, numbers: list[str]) -> dict[str, Any]:
    """What an application left: its row, steps, cases and events, with the persons' own ids and numbers
    replaced by their place in the household (so two twin households compare equal)."""
    people = await sql(stack, "SELECT id_number, person_id FROM people WHERE id_number = ANY(:n)", n=numbers)
    place = {str(p): str(i) for n, p in people for i, x in enumerate(numbers) if x == n}
    place |= {n: str(i) for i, n in enumerate(numbers)}
    app = await sql(
        stack,
        "SELECT to_jsonb(a) - 'id' - 'applicant_person_id' - 'applicant_id_number' - 'created_at'"
        " FROM applications a WHERE id = :id",
        id=application_id,
    )
    steps = await sql(
        stack,
        "SELECT step, actor, note FROM application_steps WHERE application_id = :id ORDER BY id",
        id=application_id,
    )
    found_cases = await sql(
        stack,
        "SELECT id_number, program, monthly_amount, status, started_on, origin, review_due_on, placement, care_level,"
        " (SELECT array_agg(amount::text || '@' || from_month ORDER BY from_month)"
        "  FROM case_amounts WHERE case_id = c.id)"
        " FROM cases c WHERE application_id = :id ORDER BY id_number",
        id=application_id,
    )
    events = await sql(
        stack,
        "SELECT type, data - 'case_id' - 'application_id' - 'reason' FROM outbox"
        " WHERE data->>'application_id' = CAST(:id AS text)"
        " OR data->>'case_id' IN (SELECT id::text FROM cases WHERE application_id = CAST(:id AS uuid))"
        " ORDER BY seq",
        id=application_id,
    )
    text = json.dumps([app, steps, found_cases, events], default=str, ensure_ascii=False)
    for key, value in sorted(place.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(key, f"<{value}>")
    return json.loads(text)


async def test_a_line_taken_on_leaves_what_the_single_requests_leave(stack: Stack) -> None:
    """Twin households, one through the single requests and one through the batch, the same day: the same
    answers, application rows, steps, cases with their amounts, and events."""
    today = date.today()
    clerk = token(sub="guandou-clerk", division=TOWN)
    dibao_ages = [(40, 50), (40, 50), (8, 12)]
    async with stack["registry"].client() as reg, stack["assistance"].client(clerk) as c:
        households = {
            "dibao": await twins(reg, dibao_ages),
            "tekun": await twins(reg, [(65, 80)]),
            "orphan": await twins(reg, [(8, 12)]),
            "disability_care": await twins(reg, [(30, 50)]),
            "disability_living": await twins(reg, [(30, 50)]),
        }

        def body(program: str, numbers: list[str]) -> dict[str, Any]:
            if program == "dibao":
                return dibao_application(numbers)
            member: dict[str, Any] = {"id_number": numbers[0], "relation": "self"}
            extra: dict[str, Any] = {}
            if program == "tekun":
                extra = {"tekun": {"supporter": "none", "placement": "dispersed", "adl_items_failed": 2}}
            if program == "orphan":
                extra = {"orphan": {"parents": ["dead", "dead"], "placement": "dispersed"}}
            if program.startswith("disability"):
                member["disability"] = {"grade": 2, "kind": "physical"}
            return {"program": program, "members": [member], **extra}

        # (program, reviewed, confirmed): dibao and tekun on notice, confirmed too early; the others confirmed.
        plan = [("dibao", True, False), ("tekun", True, True), ("orphan", True, True)]
        plan += [("disability_care", True, True), ("disability_living", False, False), ("dibao", True, True)]
        single: list[dict[str, Any]] = []
        for program, reviewed, confirmed in plan:
            r = await c.post("/v1/applications", json=body(program, households[program][0]))
            if r.status_code != 201:
                single.append({"status": r.status_code, "detail": r.json()["detail"]})
                continue
            app = r.json()
            if reviewed:
                r = await c.post(f"/v1/applications/{app['id']}/review", json={"survey_notes": "visited"})
                assert r.status_code == 200, r.text
                app = r.json()
            if confirmed:
                r = await c.post(f"/v1/applications/{app['id']}/confirm", json={"note": "ok"})
                if r.status_code != 200:
                    single.append({"status": r.status_code, "detail": r.json()["detail"]})
                    continue
                app = r.json()
            single.append({"status": 201, "id": app["id"], "application_status": app["status"]})

        lines = b""
        for program, reviewed, confirmed in plan:
            steps: dict[str, Any] = {"application": body(program, households[program][1]), "submitted_on": str(today)}
            steps |= {"reviewed_on": str(today), "survey_notes": "visited"} if reviewed else {}
            steps |= {"confirmed_on": str(today), "note": "ok"} if confirmed else {}
            lines += json.dumps(steps).encode() + b"\n"
        r = await c.post("/v1/applications/batch", content=lines, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    batch = [json.loads(x) for x in r.text.splitlines()]
    assert [a["status"] for a in batch] == [a["status"] for a in single], (batch, single)
    for (program, _, _), one, other in zip(plan, single, batch, strict=True):
        if one["status"] != 201:  # the reason the same but for the ids it names
            assert other["detail"].split("(")[0] == one["detail"].split("(")[0], (one, other)
            continue
        assert other["application_status"] == one["application_status"]
        mine = await recorded(stack, one["id"], households[program][0])
        theirs = await recorded(stack, other["application_id"], households[program][1])
        assert theirs == mine, program
