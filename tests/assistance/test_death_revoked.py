"""A death confirmed, then revoked (recorded for the wrong person), on real PostgreSQL and the broker.

The case is restored to the status it had before the death, the overpayment the confirmation recorded is
written off with the reason, and the next payroll pays back every month the death kept from a payroll: the
one withheld while the death was in review and the one left out once it was confirmed, each once, at the
amount in force that month. Works in 2019's payrolls, which no other test builds (payrolls are district-wide).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from services.assistance.domain.cases import CaseStatus
from services.assistance.effects import CaseRow, step
from shared import event_types as ev
from tests.assistance.payroll_support import build, lines_of, person_with_case, wait_case
from tests.support import Stack, eventually

DIED = "2019-02-15"

# The case's amount history (as amounts.record keeps it): 610.00 on file, 650.00 from May 2019.
_HISTORY = text(
    """
    UPDATE cases SET started_on = DATE '2018-12-01' WHERE id = :case_id;
    INSERT INTO case_amounts (id, case_id, from_month, until_month, amount, previous_amount, reason, explanation)
    VALUES (gen_random_uuid(), :case_id, DATE '2018-12-01', DATE '2019-05-01', 610.00, NULL, 'the amount on file',
            CAST(:explanation AS jsonb)),
           (gen_random_uuid(), :case_id, DATE '2019-05-01', NULL, 650.00, 610.00, 'reassessed at review',
            CAST(:explanation AS jsonb))
    """
)


async def _case_since_december_2018(stack: Stack) -> dict[str, Any]:
    """A migrated dibao case that began in December 2018, reassessed from May 2019 on."""
    person = await person_with_case(stack, amount="610.00")
    case_id = uuid.UUID(person["case_id"])
    async with stack["assistance"].state.sessionmaker() as s:
        for statement in str(_HISTORY).split(";"):
            await s.execute(text(statement), {"case_id": case_id, "explanation": json.dumps({"test": "history"})})
        await s.commit()
    return person


async def _report(reg: httpx.AsyncClient, id_number: str, source: str) -> str:
    body = {"id_number": id_number, "date_of_death": DIED, "source": source, "reference": f"R-{uuid.uuid4().hex[:8]}"}
    r = await reg.post("/v1/deaths", json=body)
    assert r.status_code in (200, 201), r.text
    return str(r.json()["death_id"])


async def _month(c: httpx.AsyncClient, month: str, id_number: str) -> list[tuple[str, str, str, str]]:
    """The person's lines in the payroll of `month`: (kind, month paid for, amount, status), sorted."""
    payroll = (await build(c, month)).json()
    lines = await lines_of(c, payroll["id"], id_number)
    return sorted((x["kind"], x["month"], x["amount"], x["status"]) for x in lines)


async def test_a_revoked_confirmed_death_pays_back_every_month_skipped_once_at_its_amount(stack: Stack) -> None:
    person = await _case_since_december_2018(stack)
    number = person["id_number"]
    async with stack["assistance"].client() as c, stack["registry"].client() as reg:
        for month in ("2019-01", "2019-02", "2019-03"):  # built before anyone knew of the death
            assert await _month(c, month, number) == [("regular", month, "610.00", "paid")]
        death_id = await _report(reg, number, "hospital")
        await wait_case(c, number, status="suspended", status_reason="death")
        assert await _month(c, "2019-04", number) == [("regular", "2019-04", "610.00", "withheld")]

        await _report(reg, number, "funeral_home")  # a second source: confirmed
        await wait_case(c, number, status="terminated", status_reason="death")

        async def overpayments() -> list[dict[str, Any]]:
            return (await c.get("/v1/overpayments", params={"id_number": number})).json()["items"]

        (over,) = await eventually(overpayments, timeout=10)
        assert (over["amount"], over["months"], over["status"]) == ("610.00", ["2019-03"], "open")
        assert await _month(c, "2019-05", number) == []  # confirmed: left out

        r = await reg.post(f"/v1/deaths/{death_id}/revoke", json={"reason": "recorded for the wrong person"})
        assert r.status_code == 200, r.text
        case = await wait_case(c, number, status="active")
        assert case["status_reason"] == "death revoked"
        (over,) = await overpayments()
        assert (over["amount"], over["months"], over["status"]) == ("610.00", ["2019-03"], "written_off")
        assert over["resolved_by"] == "registry.death.revoked"

        assert await _month(c, "2019-06", number) == [
            ("back_pay", "2019-04", "610.00", "paid"),  # withheld while the death was in review
            ("back_pay", "2019-05", "650.00", "paid"),  # left out once confirmed, at May's amount
            ("regular", "2019-06", "650.00", "paid"),
        ]
        assert await _month(c, "2019-07", number) == [("regular", "2019-07", "650.00", "paid")]  # nothing twice
        assert await _month(c, "2019-06", number) == [  # the same month again: the same payroll
            ("back_pay", "2019-04", "610.00", "paid"),
            ("back_pay", "2019-05", "650.00", "paid"),
            ("regular", "2019-06", "650.00", "paid"),
        ]


def _gradual_exit_case() -> CaseRow:
    return CaseRow(
        id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        id_number="340207195001010011",
        program="dibao",
        monthly_amount=Decimal("610.00"),
        status=CaseStatus.GRADUAL_EXIT,
        status_reason="gradual exit (6 months): income above the standard",
        status_changed_on=date(2019, 1, 10),
        started_on=date(2018, 12, 1),
        hukou_division="340207104001",
        paid_until=None,
        transfer_pending=False,
        review_due_on=None,
        status_before_death=None,
        reason_before_death=None,
    )


def test_a_revoked_death_restores_a_gradual_exit_with_its_reason_not_an_active_case() -> None:
    case = _gradual_exit_case()
    ids = {"person_id": case.person_id, "id_number": case.id_number, "hukou_division": case.hukou_division}
    death = {**ids, "death_id": uuid.uuid4(), "date_of_death": date(2019, 2, 15)}
    confirmed = ev.DeathConfirmed(**death, source="hospital", status="confirmed", sources=["hospital", "funeral_home"])
    terminated = step(case, confirmed, date(2019, 3, 1))
    assert isinstance(terminated, ev.CaseTerminated)
    assert (case.status, case.status_reason, case.died_on) == ("terminated", "death", date(2019, 2, 15))
    resumed = step(case, ev.DeathRevoked(**death, reason="recorded for the wrong person"), date(2019, 4, 2))
    assert isinstance(resumed, ev.CaseResumed) and resumed.status == "gradual_exit"
    assert (case.status, case.status_reason) == ("gradual_exit", "gradual exit (6 months): income above the standard")
    assert (case.status_before_death, case.reason_before_death, case.revived) == (None, None, True)
