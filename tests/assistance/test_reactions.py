"""Reactions to the registry on real PostgreSQL and the broker, seen through the payroll.

A death in review withholds the month; a confirmed death terminates the case and
records every month paid after it as an overpayment (recovered or written off by
someone, at a time); a revoked death resumes the case and the next payroll pays
the months withheld; a move out pays to the end of the month of the move and
nothing after; a household change makes a review of its members' cases due.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text

from tests.assistance.payroll_support import build, fresh_month, lines_of, person_with_case, wait_case
from tests.support import Stack, eventually

DIED = (date.today() - timedelta(days=2)).isoformat()


async def _report_death(stack: Stack, id_number: str, source: str = "hospital") -> dict:
    async with stack["registry"].client() as reg:
        r = await reg.post(
            "/v1/deaths",
            json={
                "id_number": id_number,
                "date_of_death": DIED,
                "source": source,
                "reference": f"R-{uuid.uuid4().hex[:8]}",
            },
        )
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_a_death_in_review_withholds_the_month_with_the_reason(stack: Stack) -> None:
    person = await person_with_case(stack)
    await _report_death(stack, person["id_number"])
    async with stack["assistance"].client() as c:
        await wait_case(c, person["id_number"], status="suspended")
        payroll = (await build(c, fresh_month(2300))).json()
        (line,) = await lines_of(c, payroll["id"], person["id_number"])
    assert (line["status"], line["reason_code"], line["amount"]) == ("withheld", "death_in_review", "780.00")
    assert "in review" in line["reason"]


async def test_a_confirmed_death_terminates_and_records_the_months_paid_after_it(stack: Stack) -> None:
    person = await person_with_case(stack, amount="700.00")
    ahead = fresh_month(2300)  # built ahead, before the death was known: paid
    async with stack["assistance"].client() as c:
        paid = (await build(c, ahead)).json()
        assert [x["status"] for x in await lines_of(c, paid["id"], person["id_number"])] == ["paid"]
        await _report_death(stack, person["id_number"], "hospital")
        await _report_death(stack, person["id_number"], "funeral_home")  # a second source confirms it
        await wait_case(c, person["id_number"], status="terminated", status_reason="death")

        async def detected() -> list:
            r = await c.get("/v1/overpayments", params={"id_number": person["id_number"]})
            return r.json()["items"]

        (over,) = await eventually(detected, timeout=10)
        assert ahead in over["months"] and over["status"] == "open"
        assert Decimal(over["amount"]) == Decimal("700.00") * len(over["months"])
        after = (await build(c, fresh_month(2300))).json()  # built after the confirmed death: never paid
        assert await lines_of(c, after["id"], person["id_number"]) == []

        done = await c.post(f"/v1/overpayments/{over['id']}/recover", json={"note": "receipt 2026-118"})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "recovered" and done.json()["resolved_by"] == "tester"
        assert done.json()["resolved_at"] is not None
        again = await c.post(f"/v1/overpayments/{over['id']}/write-off")
    assert again.status_code == 409


async def test_a_revoked_death_resumes_the_case_and_the_next_payroll_pays_the_month_withheld(stack: Stack) -> None:
    person = await person_with_case(stack, amount="640.00")
    death = await _report_death(stack, person["id_number"])
    first, second, third = fresh_month(2300), fresh_month(2300), fresh_month(2300)
    async with stack["assistance"].client() as c, stack["registry"].client() as reg:
        await wait_case(c, person["id_number"], status="suspended")
        withheld = (await build(c, first)).json()
        assert [x["status"] for x in await lines_of(c, withheld["id"], person["id_number"])] == ["withheld"]
        r = await reg.post(f"/v1/deaths/{death['death_id']}/revoke", json={"reason": "recorded for the wrong person"})
        assert r.status_code == 200, r.text
        await wait_case(c, person["id_number"], status="active")
        nxt = (await build(c, second)).json()
        lines = await lines_of(c, nxt["id"], person["id_number"])
        assert sorted((x["kind"], x["month"], x["amount"], x["status"]) for x in lines) == [
            ("back_pay", first, "640.00", "paid"),
            ("regular", second, "640.00", "paid"),
        ]
        later = (await build(c, third)).json()  # the month withheld is paid once, not again
        assert [x["kind"] for x in await lines_of(c, later["id"], person["id_number"])] == ["regular"]


async def test_a_move_out_pays_to_the_end_of_the_month_and_nothing_after(stack: Stack) -> None:
    person = await person_with_case(stack, amount="590.00")
    today = date.today()
    async with stack["registry"].client() as reg:
        r = await reg.post(
            "/v1/hukou-changes",
            json={
                "id_number": person["id_number"],
                "kind": "move_out",
                "from_division": "340207104001",
                "to_division": "340104000000",
                "effective_date": today.isoformat(),
                "reference": f"M-{uuid.uuid4().hex[:8]}",
            },
        )
    assert r.status_code == 201, r.text
    async with stack["assistance"].state.sessionmaker() as s:

        async def marked() -> bool:
            row = (
                await s.execute(
                    text("SELECT transfer_pending, paid_until FROM cases WHERE id = :id"),
                    {"id": uuid.UUID(person["case_id"])},
                )
            ).one()
            await s.rollback()
            return bool(row.transfer_pending)

        await eventually(marked, timeout=10)
    async with stack["assistance"].client() as c:
        this_month = (await build(c, today.strftime("%Y-%m"))).json()
        assert [x["status"] for x in await lines_of(c, this_month["id"], person["id_number"])] == ["paid"]
        later = (await build(c, fresh_month(2300))).json()
        (line,) = await lines_of(c, later["id"], person["id_number"])
    assert (line["status"], line["reason_code"]) == ("withheld", "moved_out")


async def test_a_household_change_makes_a_review_of_the_members_cases_due(stack: Stack) -> None:
    person = await person_with_case(stack, amount="560.00")
    async with stack["registry"].client() as reg:
        r = await reg.post(
            "/v1/households",
            json={
                "hukou_division": "340207104001",
                "members": [{"id_number": person["id_number"], "relation": "head"}],
            },
        )
    assert r.status_code == 201, r.text
    async with stack["assistance"].state.sessionmaker() as s:

        async def review_due() -> list:
            rows = (
                (
                    await s.execute(
                        text(
                            "SELECT envelope FROM outbox WHERE type = 'assistance.review.due' "
                            "AND envelope->'data'->>'case_id' = :case AND envelope->'data'->>'due_on' = :today"
                        ),  # the case's periodic date (set when it was entered) is announced too: not this one
                        {"case": person["case_id"], "today": date.today().isoformat()},
                    )
                )
                .scalars()
                .all()
            )
            await s.rollback()
            return rows

        (due,) = await eventually(review_due, timeout=10)
    assert due["data"]["due_on"] == date.today().isoformat() and due["data"]["program"] == "dibao"


async def test_a_confirmed_death_revoked_resumes_the_case_and_withdraws_its_overpayment(stack: Stack) -> None:
    person = await person_with_case(stack, amount="610.00")
    async with stack["assistance"].client() as c, stack["registry"].client() as reg:
        await build(c, fresh_month(2300))  # paid ahead
        death = await _report_death(stack, person["id_number"], "hospital")
        await _report_death(stack, person["id_number"], "public_security")
        await wait_case(c, person["id_number"], status="terminated")

        async def overpayments() -> list:
            return (await c.get("/v1/overpayments", params={"id_number": person["id_number"]})).json()["items"]

        assert [o["status"] for o in await eventually(overpayments, timeout=10)] == ["open"]
        r = await reg.post(f"/v1/deaths/{death['death_id']}/revoke", json={"reason": "another person's record"})
        assert r.status_code == 200, r.text
        case = await wait_case(c, person["id_number"], status="active")
        assert case["status_reason"] == "death revoked"
        (withdrawn,) = await overpayments()
    assert withdrawn["status"] == "written_off" and withdrawn["resolved_by"] == "registry.death.revoked"
