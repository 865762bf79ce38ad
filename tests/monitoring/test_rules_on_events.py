"""The warning rules on events, applied by monitoring's consumers to a fresh database (real PostgreSQL).

Events are handed to the handlers as the runner hands them (typed by the
catalogue): in order, out of order, twice, and about persons monitoring has
never heard of. Each case ends with exactly the alerts the situation calls
for, each closing itself when the situation is resolved.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring import handlers, usecases
from shared import event_types as ev
from shared.db import make_engine, make_sessionmaker
from shared.events import ReceivedEvent, typed
from tests.support import Infra, new_id_number

TODAY = date.today()
DIVISION = "340207001001"


class Person:
    def __init__(self, min_age: int = 30, max_age: int = 50) -> None:
        self.id = uuid.uuid4()
        self.number = new_id_number(min_age, max_age)

    def ref(self) -> dict[str, Any]:
        return {"person_id": self.id, "id_number": self.number, "hukou_division": DIVISION}

    def case(self, model: type[ev.CaseEvent], program: str = "dibao", **kw: Any) -> ev.CaseEvent:  # noqa: ANN401
        status = {ev.CaseEnrolled: "active", ev.CaseSuspended: "suspended", ev.CaseAmountChanged: "active"}[model]
        values = {"case_id": uuid.uuid4(), "program": program, "status": status, "monthly_amount": Decimal("500.00"),
                  "effective_date": TODAY - timedelta(days=3)} | kw  # fmt: skip
        return model(**self.ref(), **values)


def received(payload: BaseModel) -> ReceivedEvent:
    spec = ev.spec_of(payload)
    data = payload.model_dump(mode="json")
    event = ReceivedEvent(id=str(uuid.uuid4()), type=spec.type, source="/test", subject=None, time=None, data=data,
                          key=None)  # fmt: skip
    return typed(event, spec.topic)


async def fresh(infra: Infra) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(make_engine(infra.database(f"monitoring_{uuid.uuid4().hex[:10]}", "monitoring")))


async def feed(sm: async_sessionmaker[AsyncSession], *payloads: BaseModel) -> dict[str, str]:
    """One chunk through the service's consumer (or the partners', for their reports)."""
    events = [received(p) for p in payloads]
    partner = all(isinstance(p, ev.PartnerIncome | ev.PartnerMedicalExpense) for p in payloads)
    consumer = handlers.partner_reports if partner else handlers.service_events
    async with sm() as session, session.begin():
        assert consumer.batch_handler is not None
        return await consumer.batch_handler(session, events)


async def alerts(sm: async_sessionmaker[AsyncSession], person: Person) -> list[tuple[str, str, str | None]]:
    sql = "SELECT kind, status, resolution FROM alerts WHERE person_id = :p ORDER BY raised_at, kind, status"
    async with sm() as session:
        return [tuple(r) for r in (await session.execute(text(sql), {"p": person.id})).all()]


def died(p: Person) -> ev.PersonDied:
    return ev.PersonDied(**p.ref(), death_id=uuid.uuid4(), date_of_death=TODAY - timedelta(days=2), source="hospital",
                         status="reported")  # fmt: skip


def overpaid(p: Person, amount: str = "500.00") -> ev.AssistanceOverpaymentDetected:
    return ev.AssistanceOverpaymentDetected(**p.ref(), overpayment_id=uuid.uuid4(), program="dibao",
                                            amount=Decimal(amount), reason="paid after death")  # fmt: skip


async def test_paid_after_death_is_raised_once_and_a_resolution_settles_it(infra: Infra) -> None:
    sm, p = await fresh(infra), Person()
    # Out of order and twice: the overpayment arrives before the death, and is reported by two events.
    await feed(sm, p.case(ev.CaseEnrolled), overpaid(p), died(p), overpaid(p, "80.00"))
    found = await alerts(sm, p)
    assert sorted(k for k, s, _ in found if s == "open") == ["beneficiary_died", "paid_after_death"]
    async with sm() as session:
        owed = (await session.execute(text("SELECT open_overpayments FROM records"))).scalar_one()
        alert_id = (await session.execute(text("SELECT id FROM alerts WHERE kind = 'paid_after_death'"))).scalar_one()
    assert owed == Decimal("580.00")
    async with sm() as session, session.begin():
        await usecases.resolve_alert(session, alert_id, resolution="580.00 recovered from the family", by="caseworker")
    await feed(sm, p.case(ev.CaseSuspended, reason="death"))  # later news: the overpayment is not raised again
    assert [k for k, s, _ in await alerts(sm, p) if k == "paid_after_death"] == ["paid_after_death"]


async def test_a_household_change_needs_a_reassessment_which_closes_it(infra: Infra) -> None:
    sm, head, child = await fresh(infra), Person(), Person(1, 10)
    await feed(sm, head.case(ev.CaseEnrolled), child.case(ev.CaseEnrolled, program="orphan"))
    household = uuid.uuid4()
    member = ev.HouseholdMember
    change = ev.HouseholdChanged(household_id=household, hukou_division=DIVISION, head_person_id=head.id,
                                 reason="birth", members_before=[member(person_id=head.id, relation="head")],
                                 members_after=[member(person_id=head.id, relation="head"),
                                                member(person_id=child.id, relation="child"),
                                                member(person_id=uuid.uuid4(), relation="child")])  # fmt: skip
    await feed(sm, change, change)  # twice: one alert
    assert await alerts(sm, head) == [("household_changed", "open", None)]
    assert await alerts(sm, child) == []  # an orphan allowance is not a household means test
    await feed(sm, head.case(ev.CaseAmountChanged, effective_date=TODAY))
    assert await alerts(sm, head) == [
        ("household_changed", "resolved", "auto: the household was reviewed after the change")
    ]


async def test_a_report_about_a_stranger_is_refused_and_one_about_a_known_person_recorded(infra: Infra) -> None:
    sm, known, stranger = await fresh(infra), Person(), Person()
    await feed(sm, known.case(ev.CaseEnrolled))
    bills = [ev.PartnerMedicalExpense(id_number=who.number, amount=Decimal("9000.00"), date=TODAY, reference=f"M-{i}")
             for i, who in enumerate((known, stranger))]  # fmt: skip
    events = [received(b) for b in bills]
    async with sm() as session, session.begin():
        assert handlers.partner_reports.batch_handler is not None
        refused = await handlers.partner_reports.batch_handler(session, events)
    assert refused == {events[1].id: "id_number: no person with this identity number is known to monitoring"}
    assert await alerts(sm, known) == [("high_medical_expense", "open", None)]


async def test_a_death_before_any_case_then_the_cases_then_the_revocation(infra: Infra) -> None:
    """Monitoring first hears of the person through their death; the suspension follows; then the revocation."""
    sm, p = await fresh(infra), Person()
    await feed(sm, died(p))
    assert await alerts(sm, p) == []  # nothing was paying that monitoring knows of
    await feed(sm, p.case(ev.CaseSuspended, reason="death"))
    assert await alerts(sm, p) == [("beneficiary_died", "open", None)]
    revoked = ev.DeathRevoked(**p.ref(), death_id=uuid.uuid4(), date_of_death=TODAY - timedelta(days=2), reason="error")
    await feed(sm, revoked, p.case(ev.CaseEnrolled))
    assert await alerts(sm, p) == [("beneficiary_died", "resolved", "auto: the death was revoked")]
    async with sm() as session:
        status, dod, programs = (
            await session.execute(text("SELECT status, date_of_death, programs FROM records"))
        ).one()
    assert (status, dod, programs) == ("active", None, {"dibao": "active"})
