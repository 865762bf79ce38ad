"""Amounts recomputed by the rules and recorded per case: a standard changed, a member's death, a care level.

Pure parts first (the GB/T mapping, the household without a deceased member), then the stack: a dibao
household confirmed through an application, a standard changed far ahead (the payroll before it pays the old
amounts, the payroll from it the new), a member's confirmed death (the others reassessed from the month after),
and eldercare's capacity assessment of a tekun person (care level and care subsidy from the month after).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

from services.assistance import amounts
from services.assistance.domain.standards import StandardRow, Standards
from shared import event_types as ev
from shared.events import publish
from tests.assistance.payroll_support import build, fresh_month, lines_of, person_with_case
from tests.assistance.rules_support import standards as seeded
from tests.assistance.test_applications import dibao_application, family, sql
from tests.support import Stack, eventually, new_id_number

D = Decimal


def _mapping(partial: str, full: str) -> Standards:
    rows = [
        StandardRow("tekun.care.gbt_partial_from", D(partial), date(2022, 1, 1), "test"),
        StandardRow("tekun.care.gbt_full_from", D(full), date(2022, 1, 1), "test"),
    ]
    return Standards(rows, date(2023, 1, 1))


def test_gbt_levels_map_to_tekun_care_levels_by_the_standards() -> None:
    s = _mapping("2", "3")
    assert [amounts.care_level_of(level, s).value for level in range(5)] == [
        "self_care",
        "self_care",
        "partial",
        "full",
        "full",
    ]
    assert amounts.care_level_of(1, _mapping("1", "4")).value == "partial"


def test_tekun_amount_is_basic_standard_plus_the_share_of_the_minimum_wage() -> None:
    s = seeded()  # dibao 800, tekun basic 1040, minimum wage 1650, dispersed full 35%
    amount, why = amounts.tekun_amount("dispersed", "full", s)
    assert amount == D("1617.50") and D(why["basic"]) == D("1040") and D(why["care"]) == D("577.50")  # + 0.35 × 1650
    assert amounts.tekun_amount("centralised", "self_care", s)[0] == D("1040.00")
    assert "dispersed (分散供养) assumed" in amounts.tekun_amount(None, "partial", s)[1]["why"]


def test_the_household_without_a_deceased_member_is_reindexed_and_assessed() -> None:
    numbers = [
        new_id_number(min_age=40, max_age=50),
        new_id_number(min_age=40, max_age=50),
        new_id_number(min_age=6, max_age=10),
    ]
    record = dibao_application(numbers)
    for m in record["members"]:
        m["person_id"], m["name"], m["hukou_division"] = str(uuid.uuid4()), "x", "340207003001"
    body, kept, left_out = amounts.household_now(record, {numbers[0]}, date(2023, 1, 1)) or (None, [], [])
    assert kept == numbers[1:] and left_out == [numbers[0]]
    assert body is not None and [e.member for e in body.rigid_expenses] == [0]  # the spouse's dialysis, now member 0
    before = amounts.dibao_amounts(record, set(), seeded(date(2023, 1, 1)))
    after = amounts.dibao_amounts(record, {numbers[0]}, seeded(date(2023, 1, 1)))
    assert before is not None and after is not None
    assert after[1]["household_members"] == 2 and after[1]["members_deceased_left_out"] == 1
    # The wage earner died: the two left have less income, so each receives more.
    assert set(after[0]) == set(numbers[1:]) and all(after[0][n] > before[0][n] for n in numbers[1:])
    assert after[1]["figures"] and after[1]["per_capita_income"] != before[1]["per_capita_income"]


async def _confirmed_household(stack: Stack) -> tuple[list[str], dict[str, str]]:
    """A dibao household confirmed into cases; each member's case id by identity number."""
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        numbers = await family(reg)
        r = await c.post("/v1/applications", json=dibao_application(numbers))
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        r = await c.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "visited"})
        assert r.status_code == 200, r.text
        await sql(
            stack,
            "UPDATE applications SET notice_until = :d WHERE id = :id",
            d=date.today() - timedelta(days=1),
            id=uuid.UUID(app_id),
        )
        r = await c.post(f"/v1/applications/{app_id}/confirm", json={"note": "confirmed"})
        assert r.status_code == 200, r.text
    rows = await sql(stack, "SELECT id_number, id FROM cases WHERE application_id = :a", a=uuid.UUID(app_id))
    return numbers, {n: str(i) for n, i in rows}


async def _in_force(stack: Stack, case_id: str, month: date, otherwise: str) -> Decimal:
    """The amount recorded for a case in a month (standards other tests set ahead may have changed it)."""
    rows = await sql(
        stack,
        "SELECT amount FROM case_amounts WHERE case_id = :c AND from_month <= :m ORDER BY from_month DESC LIMIT 1",
        c=uuid.UUID(case_id),
        m=month,
    )
    return rows[0][0] if rows else D(otherwise)


async def _confirm_death(stack: Stack, id_number: str, died: date) -> None:
    async with stack["registry"].client() as reg:
        for source in ("hospital", "funeral_home"):  # a second source confirms it
            r = await reg.post(
                "/v1/deaths",
                json={
                    "id_number": id_number,
                    "date_of_death": died.isoformat(),
                    "source": source,
                    "reference": f"R-{uuid.uuid4().hex[:8]}",
                },
            )
            assert r.status_code in (200, 201), r.text


async def test_a_household_enrolled_after_a_standard_set_ahead_is_paid_that_standard_from_its_month(
    stack: Stack,
) -> None:
    year = random.randint(2130, 2164)  # after the years of the test of a standard's rise (see there)
    async with stack["assistance"].client() as c:
        r = await c.post(
            "/v1/standards",
            json={"key": "dibao.standard", "value": "1000", "effective_from": f"{year}-03-01", "source": "test"},
        )
        assert r.status_code == 201, r.text
        _numbers, cases = await _confirmed_household(stack)  # enrolled after the standard was set
        march = (await build(c, f"{year}-03")).json()
        for n, case_id in cases.items():
            (line,) = await lines_of(c, march["id"], n)
            rows = await sql(
                stack,
                "SELECT amount, explanation FROM case_amounts WHERE case_id = :c AND from_month = :m",
                c=uuid.UUID(case_id),
                m=date(year, 3, 1),
            )
            assert rows, "no amount recorded for the month the standard comes into force"
            assert D(line["amount"]) == rows[0].amount and D(rows[0].explanation["standard"]) == D("1000")


async def test_a_death_recorded_after_a_later_dated_standard_recomputes_the_later_row_without_them(
    stack: Stack,
) -> None:
    numbers, cases = await _confirmed_household(stack)
    year = random.randint(2165, 2199)  # after the years of the test of a standard's rise (see there)
    async with stack["assistance"].client() as c:
        r = await c.post(
            "/v1/standards",
            json={"key": "dibao.standard", "value": "880", "effective_from": f"{year}-05-01", "source": "test"},
        )
        assert r.status_code == 201, r.text
    later = "SELECT amount, explanation, reason FROM case_amounts WHERE case_id = :c AND from_month = :m"
    (before,) = await sql(stack, later, c=uuid.UUID(cases[numbers[1]]), m=date(year, 5, 1))
    assert before.explanation["household_members"] == 3
    await _confirm_death(stack, numbers[0], date.today() - timedelta(days=2))

    async def recomputed() -> list:
        rows = await sql(stack, later, c=uuid.UUID(cases[numbers[1]]), m=date(year, 5, 1))
        return rows if rows and rows[0].explanation["household_members"] == 2 else []

    (after,) = await eventually(recomputed, timeout=15)
    assert after.amount > before.amount and "died" in after.reason  # the wage earner's income is gone


async def test_a_household_no_longer_eligible_after_a_death_goes_on_gradual_exit_with_the_reason(
    stack: Stack,
) -> None:
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        numbers = await family(reg)
        body = dibao_application(numbers)
        body["members"][0]["incomes"][0]["monthly_amount"] = "2300.00"  # 3 members under the standard, 2 above
        r = await c.post("/v1/applications", json=body)
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        assert r.json()["assessment"]["eligible"], r.json()["assessment"]
        r = await c.post(f"/v1/applications/{app_id}/review", json={"survey_notes": "visited"})
        assert r.status_code == 200, r.text
        await sql(
            stack,
            "UPDATE applications SET notice_until = :d WHERE id = :id",
            d=date.today() - timedelta(days=1),
            id=uuid.UUID(app_id),
        )
        r = await c.post(f"/v1/applications/{app_id}/confirm", json={"note": "confirmed"})
        assert r.status_code == 200, r.text
    await _confirm_death(stack, numbers[2], date.today() - timedelta(days=2))  # the child: fewer mouths, same wage

    async def exited() -> list:
        rows = await sql(
            stack,
            "SELECT id_number, status, status_reason, gradual_exit_until FROM cases WHERE application_id = :a "
            "AND status = 'gradual_exit'",
            a=uuid.UUID(app_id),
        )
        return rows if len(rows) >= 1 else []

    rows = await eventually(exited, timeout=15)
    assert {r.id_number for r in rows} <= set(numbers[:2]) and rows
    for r in rows:
        assert "not eligible" in r.status_reason and "died" in r.status_reason
        assert r.gradual_exit_until > date.today()


async def test_a_standard_changed_ahead_pays_recomputed_amounts_from_its_month_each_change_recorded(
    stack: Stack,
) -> None:
    numbers, cases = await _confirmed_household(stack)
    # A year no other test pays (standards end at 2199, payroll tests from 2200), and before every other test's
    # standard set ahead: June is paid at the seeded standard, so July's rise is this test's 100 alone.
    year = random.randint(2100, 2129)
    async with stack["assistance"].client() as c:
        before = {n: (await c.get("/v1/cases", params={"id_number": n})).json()["items"][0] for n in cases}
        r = await c.post(
            "/v1/standards",
            json={"key": "dibao.standard", "value": "900", "effective_from": f"{year}-07-01", "source": "test"},
        )
        assert r.status_code == 201, r.text
        june = (await build(c, f"{year}-06")).json()
        july = (await build(c, f"{year}-07")).json()
        for n in cases:
            (old,) = await lines_of(c, june["id"], n)
            (new,) = await lines_of(c, july["id"], n)
            assert D(old["amount"]) == await _in_force(stack, cases[n], date(year, 6, 1), before[n]["monthly_amount"])
            # The standard rose by 100 and the income did not: the base rises by 100, an add-on by its share of it.
            assert D(new["amount"]) - D(old["amount"]) >= D("100.00")
    rows = await sql(
        stack,
        "SELECT from_month, amount, previous_amount, reason, explanation FROM case_amounts "
        "WHERE case_id = :c AND from_month <= :m ORDER BY from_month",
        c=uuid.UUID(next(iter(cases.values()))),
        m=date(year, 7, 1),
    )
    (first, change) = rows[-2:]  # later rows: standards other tests set further ahead
    assert change.from_month == date(year, 7, 1) and change.previous_amount == first.amount
    assert "dibao.standard" in change.reason
    assert any(f["key"] == "dibao.standard" and D(f["value"]) == D("900") for f in change.explanation["figures"])
    assert D(change.explanation["standard"]) == D("900")


async def test_a_members_confirmed_death_reassesses_the_rest_of_the_household_from_the_month_after(
    stack: Stack,
) -> None:
    numbers, cases = await _confirmed_household(stack)
    died = date.today() - timedelta(days=2)
    after_death = amounts.month_after(died)
    async with stack["assistance"].client() as c:
        on_file = {n: (await c.get("/v1/cases", params={"id_number": n})).json()["items"][0] for n in numbers[1:]}
    # What each was due in the month after the death before it (standards other tests set ahead record rows too).
    before = {n: await _in_force(stack, cases[n], after_death, on_file[n]["monthly_amount"]) for n in numbers[1:]}
    async with stack["registry"].client() as reg:
        for source in ("hospital", "funeral_home"):  # a second source confirms it
            r = await reg.post(
                "/v1/deaths",
                json={
                    "id_number": numbers[0],
                    "date_of_death": died.isoformat(),
                    "source": source,
                    "reference": f"R-{uuid.uuid4().hex[:8]}",
                },
            )
            assert r.status_code in (200, 201), r.text

    async def recomputed() -> list:
        rows = await sql(
            stack,
            "SELECT c.id_number, a.amount, a.previous_amount, a.reason, a.explanation FROM case_amounts a "
            "JOIN cases c ON c.id = a.case_id WHERE c.application_id = (SELECT application_id FROM cases "
            "WHERE id = :c) AND a.from_month = :m AND a.reason LIKE '%died%'",
            c=uuid.UUID(cases[numbers[1]]),
            m=after_death,
        )
        return rows if len(rows) >= len(set(numbers[1:]) & set(cases)) else []

    rows = await eventually(recomputed, timeout=15)
    assert {r.id_number for r in rows} == set(numbers[1:]) & set(cases)
    for r in rows:
        assert r.amount > D(before[r.id_number])
        assert r.explanation["household_members"] == 2 and r.explanation["why"]


async def test_eldercare_assessment_sets_the_tekun_care_level_and_subsidy_from_the_month_after(stack: Stack) -> None:
    person = await person_with_case(stack, program="tekun", amount="1040.00")
    assessed_on = date.today()
    async with stack["eldercare"].state.sessionmaker() as s:
        await publish(
            s,
            ev.AssessmentCompleted(
                person_id=uuid.UUID(person["person_id"]),
                id_number=person["id_number"],
                hukou_division="340207104001",
                assessment_id=uuid.uuid4(),
                care_level=3,
                assessed_on=assessed_on,
            ),
        )
        await s.commit()
    case_id = uuid.UUID(person["case_id"])
    from_month = amounts.month_after(assessed_on)
    care = "SELECT care_level FROM cases WHERE id = :c"

    async def assessed() -> bool:
        return (await sql(stack, care, c=case_id))[0][0] == "full"

    await eventually(assessed, timeout=10)
    rows = await sql(
        stack,
        "SELECT from_month, amount, reason FROM case_amounts WHERE case_id = :c ORDER BY from_month",
        c=case_id,
    )
    # From the month after: 1040 + 35% of 1650, full care (later rows follow dibao standards other tests set ahead).
    (row,) = [r for r in rows if r.from_month == from_month]
    assert row.amount == D("1617.50") and "GB/T 42195 level 3" in row.reason
    assert rows[0].amount == D("1040.00")
    month = fresh_month(2400)
    async with stack["assistance"].client() as c:
        paid = (await build(c, month)).json()
        (line,) = await lines_of(c, paid["id"], person["id_number"])
    assert D(line["amount"]) == await _in_force(stack, str(case_id), date.fromisoformat(f"{month}-01"), "1617.50")


async def test_a_gradual_exit_and_a_transfer_end_by_themselves_after_their_last_month(stack: Stack) -> None:
    leaving, moved = await person_with_case(stack, amount="410.00"), await person_with_case(stack, amount="420.00")
    await sql(
        stack,
        "UPDATE cases SET status = 'gradual_exit', gradual_exit_until = :d WHERE id = :c",
        d=date.today() - timedelta(days=1),
        c=uuid.UUID(leaving["case_id"]),
    )
    await sql(
        stack,
        "UPDATE cases SET transfer_pending = true, paid_until = :d WHERE id = :c",
        d=date.today() - timedelta(days=1),
        c=uuid.UUID(moved["case_id"]),
    )
    async with stack["assistance"].client() as c:
        await build(c, fresh_month(2400))
        for who, reason in ((leaving, "gradual exit ended"), (moved, "moved out of the district: transferred")):
            case = (await c.get("/v1/cases", params={"id_number": who["id_number"]})).json()["items"][0]
            assert (case["status"], case["status_reason"]) == ("terminated", reason)
            assert case["status_changed_on"] == (date.today() - timedelta(days=1)).isoformat()
            later = (await build(c, fresh_month(2400))).json()
            assert await lines_of(c, later["id"], who["id_number"]) == []
