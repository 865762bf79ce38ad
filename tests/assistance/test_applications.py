"""Applications against the running stack: the assessment in the answer, members resolved against the
registry, the workflow with its 7-day notice, objections, confirmation into cases, and jurisdiction."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.support import ALL_SCOPES, Stack, eventually, new_id_number, token

TOWN = "340207003"  # 官陡街道


async def register(
    reg: httpx.AsyncClient, name: str, *, division: str = TOWN, min_age: int = 20, max_age: int = 70
) -> str:
    n = new_id_number(min_age=min_age, max_age=max_age)
    r = await reg.post("/v1/persons", json={"id_number": n, "name": name, "hukou_division": division})
    assert r.status_code == 201, r.text
    return n


async def family(reg: httpx.AsyncClient) -> list[str]:
    return [
        await register(reg, "张建国", min_age=40, max_age=50),
        await register(reg, "李秀兰", min_age=40, max_age=50),
        await register(reg, "张小明", min_age=8, max_age=12),
    ]


def dibao_application(numbers: list[str]) -> dict[str, Any]:
    """The worked example of test_dibao_rules: 1200 wages, 200 employment cost, 150 medical, 3 members."""
    return {
        "program": "dibao",
        "members": [
            {
                "id_number": numbers[0],
                "relation": "self",
                "employment_cost": "300.00",
                "incomes": [{"kind": "wage", "monthly_amount": "1200.00", "note": "factory"}],
            },
            {"id_number": numbers[1], "relation": "spouse", "seriously_ill": True},
            {
                "id_number": numbers[2],
                "relation": "child",
                "incomes": [{"kind": "scholarship", "monthly_amount": "100.00"}],
            },
        ],
        "rigid_expenses": [{"member": 1, "kind": "medical", "monthly_amount": "150.00", "note": "dialysis"}],
        "assets": {"financial": "3000.00", "homes": 1},
    }


async def sql(stack: Stack, statement: str, **params: Any) -> list[Any]:
    async with stack["assistance"].state.sessionmaker() as s, s.begin():
        result = await s.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def learned(stack: Stack, id_number: str, condition: str) -> None:
    """Wait until assistance's copy of the person index has heard the registry's event."""

    async def heard() -> bool:
        query = f"SELECT 1 FROM people WHERE id_number = :n AND {condition}"  # noqa: S608 - the test's own text
        return bool(await sql(stack, query, n=id_number))

    await eventually(heard)


def next_month(today: date) -> date:
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


async def test_dibao_application_is_assessed_noticed_objected_to_and_confirmed_into_cases(stack: Stack) -> None:
    clerk = token(sub="guandou-clerk", division=TOWN)
    async with stack["registry"].client() as reg, stack["assistance"].client(clerk) as c:
        numbers = await family(reg)
        r = await c.post("/v1/applications", json=dibao_application(numbers))
        assert r.status_code == 201, r.text
        app = r.json()
        a = app["assessment"]
        assert (a["eligible"], a["per_capita_income"], a["standard"]) == (True, "283.33", "800.00")
        assert a["total"] == "1790.01"
        assert [m["amount"] for m in a["members"]] == ["516.67", "676.67", "596.67"]
        assert {line["item"]: line["treatment"] for line in a["income_lines"]}["scholarship"] == "not counted"
        assert any(f["key"] == "dibao.standard" and f["effective_from"] == "2022-01-01" for f in a["figures"])
        assert app["status"] == "submitted" and app["hukou_division"] == TOWN
        app_id = app["id"]

        r = await c.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "visited; two rooms, no car"})
        assert r.status_code == 200 and r.json()["status"] == "notice", r.text
        assert r.json()["notice_until"] == (date.today() + timedelta(days=7)).isoformat()
        early = await c.post(f"/v1/applications/{app_id}/confirm", json={})
        assert early.status_code == 409 and "public notice runs until" in early.json()["detail"]

        objection = (
            await c.post(
                f"/v1/applications/{app_id}/objections", json={"content": "a neighbour says the husband drives a taxi"}
            )
        ).json()
        await sql(
            stack,
            "UPDATE applications SET notice_until = :d WHERE id = :id",
            d=date.today() - timedelta(days=1),
            id=app_id,
        )  # as if the notice began 8 days ago
        unsettled = await c.post(f"/v1/applications/{app_id}/confirm", json={})
        assert unsettled.status_code == 409 and "not settled" in unsettled.json()["detail"]
        r = await c.post(
            f"/v1/applications/{app_id}/objections/{objection['id']}/settle",
            json={"outcome": "dismissed", "settlement": "checked: the taxi belongs to his brother"},
        )
        assert r.status_code == 200, r.text

        r = await c.post(f"/v1/applications/{app_id}/confirm", json={"note": "confirmed by the town"})
        assert r.status_code == 200, r.text
        done = r.json()
    assert done["status"] == "confirmed" and done["paid_from"] == next_month(date.today()).isoformat()
    assert [s["step"] for s in done["steps"]] == [
        "submitted",
        "reviewed",
        "notice_started",
        "objection_recorded",
        "objection_dismissed",
        "confirmed",
    ]
    assert {s["actor"] for s in done["steps"]} == {"guandou-clerk"}
    # The amount of the case's first month (its latest, `monthly_amount`, follows standards set ahead by others).
    cases = await sql(
        stack,
        "SELECT c.id_number, c.program, coalesce(a.amount, c.monthly_amount) AS first_amount, c.status, "
        "c.started_on, c.origin FROM cases c "
        "LEFT JOIN case_amounts a ON a.case_id = c.id AND a.from_month <= c.started_on "
        "AND (a.until_month IS NULL OR a.until_month > c.started_on) "
        "WHERE c.application_id = :id ORDER BY first_amount",
        id=app_id,
    )
    assert [(c[0], str(c[2]), c[5]) for c in cases] == [
        (numbers[0], "516.67", "application"),
        (numbers[2], "596.67", "application"),
        (numbers[1], "676.67", "application"),
    ]
    assert {(c[1], c[3], c[4]) for c in cases} == {("dibao", "active", next_month(date.today()))}
    enrolled = await sql(
        stack,
        "SELECT count(*) FROM outbox WHERE type = 'assistance.case.enrolled' "
        "AND envelope->'data'->>'case_id' IN (SELECT id::text FROM cases WHERE application_id = :id)",
        id=app_id,
    )
    submitted = await sql(
        stack,
        "SELECT count(*) FROM outbox WHERE type = 'assistance.application.submitted' "
        "AND envelope->'data'->>'application_id' = :id",
        id=app_id,
    )
    assert (enrolled[0][0], submitted[0][0]) == (3, 1)


async def test_members_deceased_unknown_or_outside_the_district_are_named(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        numbers = await family(reg)
        r = await reg.post(
            "/v1/deaths",
            json={
                "id_number": numbers[1],
                "date_of_death": date.today().isoformat(),
                "source": "hospital",
                "reference": f"H-{numbers[1]}",
            },
        )
        assert r.status_code in (200, 201), r.text
        await learned(stack, numbers[1], "status = 'deceased'")
        dead = await c.post("/v1/applications", json=dibao_application(numbers))
        unknown = await c.post("/v1/applications", json=dibao_application([numbers[0], numbers[2], new_id_number()]))
        moved = await register(reg, "赵四")
        r = await reg.post(
            "/v1/hukou-changes",
            json={
                "id_number": moved,
                "kind": "move_out",
                "from_division": TOWN,
                "to_division": "340202",
                "effective_date": (date.today() - timedelta(days=1)).isoformat(),
                "reference": f"OUT-{moved}",
            },
        )
        assert r.status_code in (200, 201, 202), r.text
        await learned(stack, moved, "NOT in_district")
        outside = await c.post("/v1/applications", json=dibao_application([numbers[0], moved, numbers[2]]))
    assert dead.status_code == 422 and dead.json()["errors"][0]["field"] == "members[1].id_number"
    assert "deceased" in dead.json()["detail"] and numbers[1] not in dead.json()["detail"]
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "members[2].id_number"
    assert "not registered" in unknown.json()["detail"]
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "members[1].id_number"
    assert "outside the district" in outside.json()["detail"]


async def test_staff_of_another_town_find_no_application(stack: Stack) -> None:
    other = token(division="340207005", scopes=ALL_SCOPES)
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        numbers = await family(reg)
        app_id = (await c.post("/v1/applications", json=dibao_application(numbers))).json()["id"]
        async with stack["assistance"].client(other) as o:
            got = await o.get(f"/v1/applications/{app_id}")
            reviewed = await o.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "x"})
            listed = await o.get("/v1/applications", params={"id_number": numbers[0]})
            submitted = await o.post("/v1/applications", json=dibao_application(numbers))
        mine = await c.get("/v1/applications", params={"id_number": numbers[0]})
        in_town = await c.get("/v1/applications", params={"id_number": numbers[0], "division": TOWN})
        elsewhere = await c.get("/v1/applications", params={"id_number": numbers[0], "division": "340207005"})
    assert got.status_code == 404 and reviewed.status_code == 404
    assert listed.json()["total"] == 0 and mine.json()["total"] == 1
    assert (in_town.json()["total"], elsewhere.json()["total"]) == (1, 0)
    assert submitted.status_code == 404 and submitted.json()["errors"][0]["field"] == "members[0].id_number"


async def test_dibao_with_tekun_and_a_second_dibao_case_are_refused_with_the_reason(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        elder = await register(reg, "孙老汉", min_age=72, max_age=80)
        r = await c.post("/v1/cases", json={"id_number": elder, "program": "dibao", "monthly_amount": "700.00"})
        assert r.status_code == 201, r.text
        tekun = await c.post(
            "/v1/applications",
            json={
                "program": "tekun",
                "members": [{"id_number": elder, "relation": "self"}],
                "tekun": {"supporter": "none", "placement": "dispersed", "adl_items_failed": 2},
            },
        )
        dibao = await c.post(
            "/v1/applications", json={"program": "dibao", "members": [{"id_number": elder, "relation": "self"}]}
        )
    assert tekun.status_code == 422 and "exclude each other" in tekun.json()["detail"]
    assert tekun.json()["errors"][0]["field"] == "members[0].id_number"
    assert dibao.status_code == 422 and "already has an active dibao case" in dibao.json()["detail"]
    migrated = await sql(stack, "SELECT origin FROM cases WHERE id_number = :n", n=elder)
    assert migrated == [("migrated",)]


async def test_tekun_application_is_assessed_and_overdue_steps_are_listed(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        elder = await register(reg, "周奶奶", min_age=75, max_age=85)
        r = await c.post(
            "/v1/applications",
            json={
                "program": "tekun",
                "members": [
                    {
                        "id_number": elder,
                        "relation": "self",
                        "incomes": [{"kind": "elderly_allowance", "monthly_amount": "30.00"}],
                    }
                ],
                "tekun": {"supporter": "none", "placement": "dispersed", "adl_items_failed": 2},
            },
        )
        assert r.status_code == 201, r.text
        app = r.json()
        assert app["assessment"]["total"] == "1370.00" and app["assessment"]["kind"] == "dispersed"
        assert app["review_due_on"] > date.today().isoformat() and app["overdue"] is None
        await sql(
            stack,
            "UPDATE applications SET submitted_on = submitted_on - 40, review_due_on = :d WHERE id = :id",
            d=date.today() - timedelta(days=2),
            id=app["id"],
        )
        late = (await c.get("/v1/applications", params={"overdue": "true", "id_number": elder})).json()
        on_time = (await c.get("/v1/applications", params={"overdue": "false", "id_number": elder})).json()
    assert late["total"] == 1 and late["items"][0]["overdue"].startswith("review was due by")
    assert on_time["total"] == 0


async def test_rejection_with_a_reason_and_an_upheld_objection_sends_it_back_to_review(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        first = (await c.post("/v1/applications", json=dibao_application(await family(reg)))).json()["id"]
        await c.post(f"/v1/applications/{first}/review", json={"survey_notes": "visited"})
        objection = (await c.post(f"/v1/applications/{first}/objections", json={"content": "owns a shop"})).json()
        upheld = await c.post(
            f"/v1/applications/{first}/objections/{objection['id']}/settle",
            json={"outcome": "upheld", "settlement": "the shop is hers: investigate again"},
        )
        assert upheld.json()["status"] == "submitted" and upheld.json()["notice_until"] is None
        rejected = await c.post(f"/v1/applications/{first}/reject", json={"reason": "shop income above the standard"})
        again = await c.post(f"/v1/applications/{first}/confirm", json={})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["rejected_reason"] == "shop income above the standard"
    assert again.status_code == 409


async def test_emergency_grant_is_paid_first_from_the_town_reserve_until_it_is_spent(stack: Stack) -> None:
    town = "340207101"  # 沈巷镇
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        r = await c.post(
            "/v1/standards",
            json={
                "key": "temporary.town_reserve",
                "value": "2000",
                "effective_from": date.today().isoformat(),
                "source": "test",
            },
        )
        assert r.status_code == 201, r.text
        grants = []
        for name in ("钱大", "钱二"):
            n = await register(reg, name, division=town)
            r = await c.post(
                "/v1/applications",
                json={
                    "program": "temporary",
                    "members": [{"id_number": n, "relation": "self"}],
                    "temporary": {"type": "emergency", "need": "1000.00"},
                },
            )
            assert r.status_code == 201, r.text
            confirmed = await c.post(f"/v1/applications/{r.json()['id']}/confirm", json={"note": "house fire"})
            assert confirmed.status_code == 200, confirmed.text
            grants.append(confirmed.json())
    first, second = (g["assessment"] for g in grants)
    assert (first["total"], first["approver"]) == ("1600.00", "town")
    assert first["from_reserve"] is True and first["pay_first"] is True
    assert second["from_reserve"] is False and "reserve fund is spent" in second["reasons"][0]
    assert grants[0]["status"] == "confirmed" and grants[0]["case_ids"] == []  # a one-off grant, never a monthly case
    assert grants[0]["steps"][-1]["note"].startswith("先行救助")


async def test_orphan_on_dibao_gets_the_difference_without_public_notice(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        child = await register(reg, "吴小花", min_age=8, max_age=12)
        await c.post("/v1/cases", json={"id_number": child, "program": "dibao", "monthly_amount": "596.67"})
        r = await c.post(
            "/v1/applications",
            json={
                "program": "orphan",
                "members": [{"id_number": child, "relation": "self"}],
                "orphan": {"parents": ["dead", "dead"], "placement": "dispersed"},
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["assessment"]["total"] == "583.33"  # 1180 − 596.67 (补差)
        reviewed = await c.post(f"/v1/applications/{r.json()['id']}/review", json={"survey_notes": "with grandmother"})
        assert reviewed.json()["status"] == "reviewed" and reviewed.json()["notice_from"] is None
        done = await c.post(f"/v1/applications/{r.json()['id']}/confirm", json={})
        assert done.status_code == 200, done.text
    cases = await sql(stack, "SELECT program, monthly_amount FROM cases WHERE id_number = :n ORDER BY program", n=child)
    assert [(p, str(a)) for p, a in cases] == [("dibao", "596.67"), ("orphan", "583.33")]


async def test_the_same_application_sent_eight_times_at_once_is_submitted_once(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        body = dibao_application(await family(reg))
        answers = await asyncio.gather(*(c.post("/v1/applications", json=body) for _ in range(8)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] + [409] * 7, [r.text for r in answers if r.status_code not in (201, 409)]
        app_id = next(r.json()["id"] for r in answers if r.status_code == 201)
        await c.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "visited"})
        await sql(stack, "UPDATE applications SET notice_until = :d WHERE id = :id", d=date.today(), id=app_id)
        confirms = await asyncio.gather(*(c.post(f"/v1/applications/{app_id}/confirm", json={}) for _ in range(4)))
    assert sorted(r.status_code for r in confirms) == [200, 409, 409, 409]
    cases = await sql(stack, "SELECT count(*) FROM cases WHERE application_id = :id", id=app_id)
    assert cases[0][0] == 3


async def test_disability_living_subsidy_needs_a_dibao_family_the_care_subsidy_a_severe_grade(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        on_dibao, not_on = await register(reg, "黄一"), await register(reg, "黄二")
        await c.post("/v1/cases", json={"id_number": on_dibao, "program": "dibao", "monthly_amount": "500.00"})

        def apply(n: str, program: str, grade: int) -> dict[str, Any]:
            return {
                "program": program,
                "members": [{"id_number": n, "relation": "self", "disability": {"grade": grade, "kind": "physical"}}],
            }

        living = await c.post("/v1/applications", json=apply(on_dibao, "disability_living", 3))
        refused = await c.post("/v1/applications", json=apply(not_on, "disability_living", 3))
        care = await c.post("/v1/applications", json=apply(not_on, "disability_care", 2))
        mild = await c.post("/v1/applications", json=apply(on_dibao, "disability_care", 3))
        listed = await c.get("/v1/applications", params={"id_number": not_on})
    assert living.json()["assessment"]["total"] == "80.00" and living.json()["assessment"]["eligible"]
    assert not refused.json()["assessment"]["eligible"]
    assert "for dibao families" in refused.json()["assessment"]["reasons"][0]
    assert care.json()["assessment"]["total"] == "80.00"
    assert "grades 1 and 2" in mild.json()["assessment"]["reasons"][0]
    assert listed.json()["total"] == 2 and {i["program"] for i in listed.json()["items"]} == {
        "disability_living",
        "disability_care",
    }
    assert all(i["steps"][0]["step"] == "submitted" for i in listed.json()["items"])


async def test_a_survey_that_finds_more_income_reassesses_the_household_at_review(stack: Stack) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        numbers = await family(reg)
        declared = dibao_application(numbers)
        app = (await c.post("/v1/applications", json=declared)).json()
        found = dibao_application(numbers)
        found["members"][0]["incomes"][0]["monthly_amount"] = "1800.00"  # the survey found 1800 in wages
        r = await c.post(
            f"/v1/applications/{app['id']}/review", json={"survey_notes": "pay slips show 1800", "household": found}
        )
    assert r.status_code == 200, r.text
    reviewed = r.json()
    # 1800 − 200 − 150 = 1450; 1450 / 3 = 483.33; base 316.67, +160 and +80 add-ons
    assert reviewed["assessment"]["per_capita_income"] == "483.33" and reviewed["assessment"]["total"] == "1190.01"
    reassessed = next(s for s in reviewed["steps"] if s["step"] == "reassessed")
    assert reassessed["note"] == "reassessed on the survey's findings: total 1790.01 → 1190.01"
    assert reviewed["status"] == "notice"
