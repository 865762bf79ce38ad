"""The monthly payroll on real PostgreSQL: lines and totals, the same month never paid twice, towns see their own."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from shared import event_types as ev
from tests.assistance.payroll_support import build, fresh_month, lines_of, person_with_case
from tests.support import Stack, token

TOWN = "340207104"  # 白茆镇


async def test_a_month_pays_each_case_once_with_totals_and_payment_events(stack: Stack) -> None:
    dibao = await person_with_case(stack, amount="780.00", division=f"{TOWN}001")
    care = await person_with_case(stack, program="disability_care", amount="80.00", division="340207003001")
    month = fresh_month(2200)
    async with stack["assistance"].client() as c:
        first = await c.post("/v1/payrolls", json={"month": month})
        again = await c.post("/v1/payrolls", json={"month": month})
        assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
        body = first.json()
        assert again.json()["id"] == body["id"] and again.json()["total"] == body["total"]
        assert body["month"] == month
        assert Decimal(body["by_program"]["dibao"]) >= Decimal("780.00")
        assert Decimal(body["by_program"]["disability_care"]) >= Decimal("80.00")
        assert sum(map(Decimal, body["by_program"].values())) == Decimal(body["total"])
        assert sum(map(Decimal, body["by_division"].values())) == Decimal(body["total"])
        (line,) = await lines_of(c, body["id"], dibao["id_number"])
        assert (line["amount"], line["program"], line["status"], line["reason"]) == ("780.00", "dibao", "paid", None)
        assert line["month"] == month and line["kind"] == "regular"
        (care_line,) = await lines_of(c, body["id"], care["id_number"])
        assert care_line["amount"] == "80.00"

    async with stack["assistance"].state.sessionmaker() as s:
        rows = (
            (
                await s.execute(
                    text(
                        "SELECT o.envelope FROM outbox o WHERE o.type = 'assistance.payment.issued' "
                        "AND (o.envelope->'data'->>'payment_id')::uuid IN "
                        "(SELECT id FROM payroll_lines WHERE payroll_id = :p)"
                    ),
                    {"p": uuid.UUID(body["id"])},
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == body["paid_lines"]  # one event per paid line, and not one more for the second call
    mine = [ev.AssistancePaymentIssued.model_validate(r["data"]) for r in rows if r["data"]["payment_id"] == line["id"]]
    assert len(mine) == 1 and mine[0].amount == Decimal("780.00") and mine[0].month == month
    assert rows[0]["source"] == "/minzheng/assistance" and rows[0]["subject"] == rows[0]["data"]["person_id"]


async def test_eight_identical_calls_at_once_build_one_payroll(stack: Stack) -> None:
    person = await person_with_case(stack, amount="650.00")
    month = fresh_month(2200)
    async with stack["assistance"].client() as c:
        answers = await asyncio.gather(*(c.post("/v1/payrolls", json={"month": month}) for _ in range(8)))
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        assert len({a.json()["total"] for a in answers}) == 1
        lines = await lines_of(c, answers[0].json()["id"], person["id_number"])
    assert [(x["amount"], x["status"]) for x in lines] == [("650.00", "paid")]


async def test_a_town_sees_its_own_lines_and_totals_and_cannot_build(stack: Stack) -> None:
    ours = await person_with_case(stack, amount="500.00", division=f"{TOWN}002")
    theirs = await person_with_case(stack, amount="510.00", division="340207001001")
    month = fresh_month(2200)
    async with stack["assistance"].client() as district, stack["assistance"].client(token(division=TOWN)) as town:
        refused = await town.post("/v1/payrolls", json={"month": month})
        assert refused.status_code == 404, refused.text
        payroll_id = (await build(district, month)).json()["id"]
        seen = (await town.get(f"/v1/payrolls/{payroll_id}")).json()
        whole = (await district.get(f"/v1/payrolls/{payroll_id}")).json()
        assert list(seen["by_division"]) == [TOWN]
        assert seen["total"] == whole["by_division"][TOWN] and Decimal(seen["total"]) < Decimal(whole["total"])
        assert len(await lines_of(town, payroll_id, ours["id_number"])) == 1
        assert await lines_of(town, payroll_id, theirs["id_number"]) == []
        exported = (await town.get(f"/v1/payrolls/{payroll_id}/export")).text
    assert theirs["id_number"] not in exported and ours["id_number"] in exported


async def test_the_bank_file_lists_every_paid_line_once(stack: Stack) -> None:
    person = await person_with_case(stack, amount="432.10")
    month = fresh_month(2200)
    async with stack["assistance"].client() as c:
        payroll = (await build(c, month)).json()
        r = await c.get(f"/v1/payrolls/{payroll['id']}/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == payroll["paid_lines"]
    assert sum(Decimal(x["amount"]) for x in rows) == Decimal(payroll["total"])
    (mine,) = [x for x in rows if x["id_number"] == person["id_number"]]
    assert (mine["amount"], mine["program"], mine["month"], mine["name"]) == ("432.10", "dibao", month, "李桂兰")


async def test_a_case_is_paid_from_the_month_it_starts(stack: Stack) -> None:
    """A payroll of a month before the case started has no line for it (cases start when enrolled or confirmed)."""
    person = await person_with_case(stack, amount="300.00")
    async with stack["assistance"].client() as c:
        payroll = (await build(c, "2025-01")).json()
        assert await lines_of(c, payroll["id"], person["id_number"]) == []
        refused = await c.post("/v1/payrolls", json={"month": "2025-13"})
    assert refused.status_code == 422


async def test_a_case_in_gradual_exit_is_paid_for_the_configured_months_and_not_after(stack: Stack) -> None:
    person = await person_with_case(stack, amount="420.00")
    today = date.today()
    async with stack["assistance"].client() as c:
        months = (await c.get("/v1/standards")).json()["items"]
        configured = int(next(f["value"] for f in months if f["key"] == "gradual_exit.months"))
        r = await c.post(f"/v1/cases/{person['case_id']}/gradual-exit", json={"reason": "the son found work"})
        assert r.status_code == 200, r.text
        case = r.json()
        last = date.fromisoformat(case["gradual_exit_until"])
        assert case["status"] == "gradual_exit"
        assert (last.year * 12 + last.month) - (today.year * 12 + today.month) == configured
        again = await c.post(f"/v1/cases/{person['case_id']}/gradual-exit", json={"reason": "twice"})
        assert again.status_code == 409
        paid = (await build(c, last.strftime("%Y-%m"))).json()
        assert [x["status"] for x in await lines_of(c, paid["id"], person["id_number"])] == ["paid"]
        after = date(last.year + last.month // 12, last.month % 12 + 1, 1)
        ended = (await build(c, after.strftime("%Y-%m"))).json()
        assert await lines_of(c, ended["id"], person["id_number"]) == []
