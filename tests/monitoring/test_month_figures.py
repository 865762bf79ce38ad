"""/v1/stats: amounts paid by program and month, and the people who entered or left each program in the month.

The events are what assistance's and eldercare's payrolls and cases publish, sent straight to their topics, for two
communities no other test uses and months no other test pays, so every figure is exactly this test's.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from services.monitoring.flows import Count, month_of
from shared import event_types as ev
from tests.support import Stack, eventually, new_id_number, token

TOWN = "340207403"  # 鸠江经济开发区二坝园区
A, B = f"{TOWN}011", f"{TOWN}012"
ALLOWANCE = "old_age_allowance"


def envelope(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/minzheng/test", "type": type_,
            "datacontenttype": "application/json", "data": data}  # fmt: skip


class Person:
    def __init__(self, division: str) -> None:
        self.ref = {"person_id": str(uuid.uuid4()), "id_number": new_id_number(), "hukou_division": division}
        self.case_id = str(uuid.uuid4())

    def paid(self, month: str, amount: str, program: str = "dibao") -> dict[str, Any]:
        kind = "eldercare" if program == "old_age_allowance" else "assistance"
        data = {**self.ref, "payment_id": str(uuid.uuid4()), "program": program, "month": month, "amount": amount}
        return envelope(f"{kind}.payment.issued", data)

    def case(self, what: str, on: str) -> dict[str, Any]:
        data = {**self.ref, "case_id": self.case_id, "program": "dibao", "monthly_amount": "500.00",
                "effective_date": on, "status": "terminated" if what == "terminated" else "active"}  # fmt: skip
        return envelope(f"assistance.case.{what}", data)

    def allowance(self, what: str, on: str) -> dict[str, Any]:
        data = {**self.ref, "allowance_id": self.case_id, "monthly_amount": "100.00", "effective_date": on,
                "status": "active" if what == "enrolled" else "stopped"}  # fmt: skip
        return envelope(f"eldercare.allowance.{what}", data)

    def overpaid(self, amount: str) -> dict[str, Any]:
        data = {**self.ref, "overpayment_id": str(uuid.uuid4()), "program": "dibao", "amount": amount,
                "reason": "paid after death"}  # fmt: skip
        return envelope("assistance.overpayment.detected", data)

    def resolved(self, amount: str, outcome: str, on: str) -> dict[str, Any]:
        data = {**self.ref, "overpayment_id": str(uuid.uuid4()), "program": "dibao", "amount": amount,
                "outcome": outcome, "resolved_on": on, "resolved_by": "caseworker"}  # fmt: skip
        return envelope("assistance.overpayment.resolved", data)


async def send(bootstrap: str, events: list[dict[str, Any]]) -> None:
    """Each event to its service's topic, keyed by person as the services key them, in order, by one producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for e in events:
            topic = ev.ELDERCARE_EVENTS if e["type"].startswith("eldercare.") else ev.ASSISTANCE_EVENTS
            await producer.send_and_wait(topic, json.dumps(e).encode(), key=e["data"]["person_id"].encode())
    finally:
        await producer.stop()


def paid(amount: str, payments: int, overpaid: str = "0.00", overpayments: int = 0, **closed: Any) -> dict[str, Any]:
    closings = {"recovered": "0.00", "recoveries": 0, "written_off": "0.00", "write_offs": 0, **closed}
    return {"paid": amount, "payments": payments, "overpaid": overpaid, "overpayments": overpayments, **closings}


async def test_paid_entered_and_exited_by_month_program_and_division(stack: Stack) -> None:
    p1, p2, p3, elder = Person(A), Person(A), Person(B), Person(B)
    twice = p1.paid("2031-01", "500.00")
    january = [
        p1.case("enrolled", "2031-01-05"), p2.case("enrolled", "2031-01-10"), p3.case("enrolled", "2031-01-20"),
        elder.allowance("enrolled", "2031-01-01"),
        twice, p2.paid("2031-01", "300.50"), p3.paid("2031-01", "450.00"), elder.paid("2031-01", "100.00", ALLOWANCE),
    ]  # fmt: skip
    february = [
        twice,  # redelivered: counts once
        p1.case("enrolled", "2031-02-03"),  # enrolled again while in (another event id): no new entry
        p2.case("terminated", "2031-02-01"),
        p1.paid("2031-02", "500.00"), p3.paid("2031-02", "450.00"), elder.paid("2031-02", "100.00", ALLOWANCE),
        p3.overpaid("450.00"),  # dated by the business day it arrives on
    ]  # fmt: skip
    march = [  # closings counted in the month of their business day, beside what was paid
        p3.resolved("300.00", "recovered", "2031-03-05"), p2.resolved("80.00", "written_off", "2031-03-20"),
    ]  # fmt: skip
    await send(stack.infra.broker.bootstrap, january + february + march)
    this_month = month_of(date.today())
    expected = {
        (A, "2031-01"): (
            {"dibao": paid("800.50", 2)}, {"dibao": 2}, {}
        ),
        (B, "2031-01"): (
            {"dibao": paid("450.00", 1), ALLOWANCE: paid("100.00", 1)}, {"dibao": 1, ALLOWANCE: 1}, {}
        ),
        (A, "2031-02"): ({"dibao": paid("500.00", 1)}, {}, {"dibao": 1}),
        (TOWN, "2031-01"): (
            {"dibao": paid("1250.50", 3), ALLOWANCE: paid("100.00", 1)}, {"dibao": 3, ALLOWANCE: 1}, {}
        ),
        (TOWN, "2031-02"): (
            {"dibao": paid("950.00", 2), ALLOWANCE: paid("100.00", 1)}, {}, {"dibao": 1}
        ),
        (B, this_month): ({"dibao": paid("0.00", 0, "450.00", 1)}, {}, {}),
        (B, "2031-03"): ({"dibao": paid("0.00", 0, recovered="300.00", recoveries=1)}, {}, {}),
        (TOWN, "2031-03"): (
            {"dibao": paid("0.00", 0, recovered="300.00", recoveries=1, written_off="80.00", write_offs=1)}, {}, {}
        ),
    }  # fmt: skip

    async with stack["monitoring"].client() as m:

        async def figures(division: str, month: str) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
            headers = {"Authorization": f"Bearer {token(division=division)}"}
            r = await m.get("/v1/stats", params={"month": month}, headers=headers)
            assert r.status_code == 200, r.text
            s = r.json()
            assert s["figures_month"] == month
            return s["paid_by_program"], s["people_entered_by_program"], s["people_exited_by_program"]

        async def all_counted() -> dict[tuple[str, str], Any]:
            got = {key: await figures(*key) for key in expected}
            return {} if got != expected else got

        assert await eventually(all_counted, timeout=20.0), {key: await figures(*key) for key in expected}
        # A date asks for the month holding it.
        headers = {"Authorization": f"Bearer {token(division=A)}"}
        r = await m.get("/v1/stats", params={"date": "2031-02-28"}, headers=headers)
        assert r.json()["figures_month"] == "2031-02" and r.json()["paid_by_program"] == {"dibao": paid("500.00", 1)}


def test_coverage_counts_a_person_once_each_way() -> None:
    """Entering needs someone not covered, leaving someone covered; an unknown person's ending is an exit."""
    someone, stranger = uuid.uuid4(), uuid.uuid4()
    count = Count(coverage={}, today=date(2031, 3, 1))

    def case(model: type[ev.CaseEvent], person: uuid.UUID, on: date) -> ev.CaseEvent:
        return model(person_id=person, id_number=new_id_number(), hukou_division=A, case_id=uuid.uuid4(),
                     program="dibao", status="x", monthly_amount=Decimal("1"), effective_date=on)  # fmt: skip

    march, april = date(2031, 3, 2), date(2031, 4, 2)
    for p in [
        case(ev.CaseEnrolled, someone, march), case(ev.CaseEnrolled, someone, march),  # in once
        case(ev.CaseSuspended, someone, march), case(ev.CaseResumed, someone, march),  # still in
        case(ev.CaseTerminated, someone, april), case(ev.CaseTerminated, someone, april),  # out once
        case(ev.CaseTerminated, stranger, april),  # covered before anyone here heard of them
    ]:  # fmt: skip
        count.apply(p)
    assert {k: (t.entered, t.exited) for k, t in count.totals.items()} == {
        ("2031-03", "dibao", A): (1, 0), ("2031-04", "dibao", A): (0, 2)
    }  # fmt: skip
    assert count.coverage == {(someone, "dibao"): False, (stranger, "dibao"): False}
