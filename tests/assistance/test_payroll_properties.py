"""Property-based: whatever the cases' amounts and states, a payroll pays each case at most once a month,
asked again it is the same payroll with the same lines, and no amount is negative or a float.

Hypothesis draws the case sets (amounts to the fen up to the column's limit, statuses, deaths in review,
moves out); each is inserted set-based into the running service's database, the month is built through
the API twice, and the answers and lines are checked. The draws are collected first and then run on the
stack's event loop (the services live on it), so a failure names its example without shrinking.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.assistance.payroll_support import fresh_month
from tests.support import Stack, new_id_number

MONEY = re.compile(r"^[0-9]{1,10}\.[0-9]{2}$")


@dataclass(frozen=True)
class Drawn:
    amount: Decimal
    status: str  # active | suspended
    death_in_review: bool
    moved_out: bool


drawn = st.builds(
    Drawn,
    st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["active", "suspended"]),
    st.booleans(),
    st.booleans(),
)


def examples(n: int) -> list[list[Drawn]]:
    found: list[list[Drawn]] = []

    @given(st.lists(drawn, min_size=1, max_size=12))
    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    def collect(cases: list[Drawn]) -> None:
        found.append(cases)

    collect()
    return found


async def _insert(stack: Stack, cases: list[Drawn]) -> dict[uuid.UUID, Drawn]:
    ids = {uuid.uuid4(): d for d in cases}
    async with stack["assistance"].state.sessionmaker() as s:
        for case_id, d in ids.items():
            person_id, number = uuid.uuid4(), new_id_number()
            await s.execute(
                text(
                    "INSERT INTO people (person_id, id_number, hukou_division, in_district, status) "
                    "VALUES (:p, :n, '340207103001', :inside, 'alive')"
                ),
                {"p": person_id, "n": number, "inside": not d.moved_out},
            )
            await s.execute(
                text(
                    "INSERT INTO cases (id, person_id, id_number, program, monthly_amount, status, status_reason, "
                    "started_on, origin, hukou_division, transfer_pending) VALUES "
                    "(:c, :p, :n, 'dibao', :a, :s, :r, DATE '2026-01-01', 'migrated', '340207103001', false)"
                ),
                {
                    "c": case_id,
                    "p": person_id,
                    "n": number,
                    "a": d.amount,
                    "s": d.status,
                    "r": "death" if d.status == "suspended" else None,
                },
            )
            if d.death_in_review:
                await s.execute(
                    text(
                        "INSERT INTO death_reports (death_id, person_id, date_of_death, status) "
                        "VALUES (:d, :p, DATE '2026-10-01', 'reported')"
                    ),
                    {"d": uuid.uuid4(), "p": person_id},
                )
        await s.commit()
    return ids


async def test_payroll_is_idempotent_and_amounts_are_exact_and_never_negative(stack: Stack) -> None:
    async with stack["assistance"].client() as c:
        for cases in examples(6):
            ids = await _insert(stack, cases)
            month = fresh_month(2600)
            first = await c.post("/v1/payrolls", json={"month": month})
            again = await c.post("/v1/payrolls", json={"month": month})
            assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
            assert first.json() == again.json()
            body = first.json()
            for value in [body["total"], body["withheld_total"], *body["by_program"].values()]:
                assert isinstance(value, str) and MONEY.match(value), value
            async with stack["assistance"].state.sessionmaker() as s:
                rows = (
                    await s.execute(
                        text("SELECT case_id, amount, status, reason_code FROM payroll_lines WHERE payroll_id = :p"),
                        {"p": uuid.UUID(body["id"])},
                    )
                ).all()
            mine = [r for r in rows if r.case_id in ids]
            assert len(mine) == len(ids)  # each case once, whatever its state
            for r in mine:
                d = ids[r.case_id]
                assert isinstance(r.amount, Decimal) and r.amount == d.amount and r.amount >= 0
                held = d.death_in_review or d.status == "suspended" or d.moved_out
                assert (r.status == "withheld") == held, (d, r)
            assert sum((r.amount for r in rows if r.status == "paid"), Decimal(0)) == Decimal(body["total"])
