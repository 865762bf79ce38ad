"""Two things a case learns with time, against the running stack: an orphan's allowance ends at 18 on the
registry's milestone, and a case from an application carries its periodic review date, announced to monitoring."""

from __future__ import annotations

from datetime import date, timedelta

from services.assistance import reviews
from services.assistance.coming_of_age import REASON, birthday
from shared import identity
from tests.assistance.test_applications import TOWN, dibao_application, family, learned, next_month, sql
from tests.support import Stack, eventually, token


def born_18_years_ago(today: date) -> date:
    """A birth date that makes someone 18 today (a 29 February birthday is 18 on 1 March: not this test's case)."""
    return today.replace(year=today.year - 18) if (today.month, today.day) != (2, 29) else date(today.year - 18, 3, 1)


async def test_the_milestone_of_18_terminates_the_orphan_allowance_and_only_it(stack: Stack) -> None:
    today = date.today()
    born = born_18_years_ago(today)
    number = identity.make("340207", born, 611)
    younger = identity.make("340207", born + timedelta(days=3), 612)  # 17 for three more days: untouched
    async with stack["registry"].client() as reg, stack["assistance"].client() as a:
        for n in (number, younger):
            r = await reg.post("/v1/persons", json={"id_number": n, "name": "孙小雨", "hukou_division": "340207003001"})
            assert r.status_code == 201, r.text
            r = await a.post("/v1/cases", json={"id_number": n, "program": "orphan", "monthly_amount": "1180.00"})
            assert r.status_code == 201, r.text
        r = await a.post(
            "/v1/cases", json={"id_number": number, "program": "disability_living", "monthly_amount": "90.00"}
        )
        assert r.status_code == 201, r.text
        r = await reg.post("/v1/milestones/run", json={"as_of": today.isoformat()})
        assert r.status_code == 200, r.text

        async def cases(n: str) -> dict[str, dict]:
            items = (await a.get("/v1/cases", params={"id_number": n})).json()["items"]
            return {c["program"]: c for c in items}

        async def ended() -> dict[str, dict] | None:
            found = await cases(number)
            return found if found["orphan"]["status"] == "terminated" else None

        found = await eventually(ended, timeout=10)
        assert found["disability_living"]["status"] == "active"  # only the orphan allowance ends at 18
        assert (await cases(younger))["orphan"]["status"] == "active"
        rows = await sql(
            stack,
            "SELECT envelope->'data'->>'reason' AS reason, envelope->'data'->>'effective_date' AS day FROM outbox"
            " WHERE type = 'assistance.case.terminated' AND envelope->'data'->>'id_number' = :n",
            n=number,
        )
        assert [(r.reason, r.day) for r in rows] == [(REASON, today.isoformat())]  # effective the 18th birthday


def test_the_18th_birthday_of_29_february_is_1_march_in_a_common_year() -> None:
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 28), 18) == date(2026, 2, 28)


def test_the_review_falls_due_the_interval_after_the_first_month_paid() -> None:
    assert reviews.due_on(date(2026, 12, 1), 6) == date(2027, 6, 1)
    assert reviews.due_on(date(2026, 7, 1), 12) == date(2027, 7, 1)
    assert reviews.due_on(date(2026, 7, 1), None) is None


async def test_a_confirmed_dibao_case_is_due_for_review_at_its_interval_and_says_so(stack: Stack) -> None:
    clerk = token(sub="guandou-clerk", division=TOWN)
    async with stack["registry"].client() as reg, stack["assistance"].client(clerk) as c:
        numbers = await family(reg)
        for n in numbers:
            await learned(stack, n, "true")
        r = await c.post("/v1/applications", json=dibao_application(numbers))
        assert r.status_code == 201, r.text
        app_id, every = r.json()["id"], r.json()["assessment"]["review_every_months"]
        assert every == 6  # a member of working age able to work: every six months (Art 31)
        r = await c.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "visited"})
        assert r.status_code == 200, r.text
        await sql(stack, "UPDATE applications SET notice_until = :d WHERE id = :id", d=date.today() - timedelta(days=1),
                  id=app_id)  # fmt: skip
        r = await c.post(f"/v1/applications/{app_id}/confirm", json={})
        assert r.status_code == 200, r.text
        due = reviews.due_on(next_month(date.today()), 6)
        items = (await c.get("/v1/cases", params={"id_number": numbers[0]})).json()["items"]
        assert [(i["program"], i["review_due_on"]) for i in items] == [("dibao", due.isoformat())]
        rows = await sql(
            stack,
            "SELECT envelope->'data'->>'id_number' AS n, envelope->'data'->>'due_on' AS due FROM outbox"
            " WHERE type = 'assistance.review.due' AND envelope->'data'->>'id_number' = ANY(:ns)",
            ns=numbers,
        )
        assert sorted((r.n, r.due) for r in rows) == sorted((n, due.isoformat()) for n in numbers)
