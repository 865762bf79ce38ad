"""Every warning rule, four ways, on the running stack (real PostgreSQL, the real broker and its topics).

One table: for each of the ten kinds, the events that raise it (published on the topics their producers
use), the events that resolve it, and the reason the alert closes with. Each case runs four variants, each
about a person of its own:

- in order: the person first registered, then the events as their producers would send them;
- out of order: the same events as partners could deliver them (different topics are read independently,
  so the registry's, assistance's, eldercare's and the partners' events can arrive in any order among
  themselves), raising and resolving events both reordered;
- duplicated: every event delivered again under its own id (a redelivery) and re-published under a new
  id (the same fact told twice, which the consumers' processed-events table cannot recognise);
- a stranger: no registration first, monitoring hears of the person through the rule's own events (each
  table row starts with a service's event: a partner's report about a stranger is refused by design, as
  test_rules_on_events shows, since partners name persons by identity number and only the registry makes them).
  In the duplicated variant an overpayment told twice under two ids is owed twice, and its resolution told
  twice takes both off: the alert still closes once.

A variant that cannot apply as written says why in its row (`caveat`).

Events go out step by step: step k publishes the k-th event of every variant at once, then waits until
monitoring has processed them all (one poll of its processed-events table), so "in order" and "out of
order" are exactly the orders written, whatever topic each event is on. The calendar rules are raised by
the warnings run (twice: one alert per situation), run over this test's own town only.

Each variant must end with exactly one alert of its kind, raised once and closed once with the rule's
reason, both through the alerts API and on monitoring.alerts.v1; and no person gets two alerts of any kind.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel
from sqlalchemy import text

from shared import event_types as ev
from shared.db import make_engine
from shared.events import envelope
from tests.support import Stack, new_id_number, token

TOWN = "340207401"  # 安徽省江北产业集中区: no other test puts anyone here
COMMUNITY = f"{TOWN}777"
TODAY = date.today()
VARIANTS = ("in_order", "out_of_order", "duplicated", "stranger")
REVIEW_GRACE_DAYS_PAST = 40  # due this long ago: past any grace the seeded thresholds allow


class Person:
    """A person of one variant: their identity and the payloads about them."""

    def __init__(self, min_age: int = 30, max_age: int = 50) -> None:
        self.id = uuid.uuid4()
        self.number = new_id_number(min_age, max_age)

    def ref(self) -> dict[str, Any]:
        return {"person_id": self.id, "id_number": self.number, "hukou_division": COMMUNITY}

    def registered(self) -> ev.PersonRegistered:
        born = date(int(self.number[6:10]), int(self.number[10:12]), int(self.number[12:14]))
        return ev.PersonRegistered(**self.ref(), name="测试", sex="F", birth_date=born)

    def case(self, model: type[ev.CaseEvent], program: str = "dibao", **kw: Any) -> ev.CaseEvent:  # noqa: ANN401
        status = {ev.CaseEnrolled: "active", ev.CaseAmountChanged: "active", ev.CaseResumed: "active",
                  ev.CaseSuspended: "suspended", ev.CaseTerminated: "terminated"}[model]  # fmt: skip
        values = {"case_id": _case_id(self, program), "program": program, "status": status,
                  "monthly_amount": Decimal("500.00"), "effective_date": TODAY - timedelta(days=20)} | kw  # fmt: skip
        return model(**self.ref(), **values)

    def allowance(self, model: type[ev.AllowanceEvent], status: str, reason: str | None = None) -> ev.AllowanceEvent:
        return model(
            **self.ref(),
            allowance_id=uuid.uuid5(self.id, "allowance"),
            status=status,
            monthly_amount=Decimal("100.00"),
            effective_date=TODAY - timedelta(days=10),
            reason=reason,
        )

    def died(self) -> ev.PersonDied:
        return ev.PersonDied(
            **self.ref(),
            death_id=uuid.uuid5(self.id, "death"),
            date_of_death=TODAY - timedelta(days=5),
            source="hospital",
            status="reported",
        )

    def revoked(self) -> ev.DeathRevoked:
        return ev.DeathRevoked(**self.ref(), death_id=uuid.uuid5(self.id, "death"),
                               date_of_death=TODAY - timedelta(days=5), reason="recorded in error")  # fmt: skip

    def hukou(self, model: type[ev.HukouChanged], in_district: bool) -> ev.HukouChanged:
        kind = {ev.HukouMovedIn: "move_in", ev.HukouMovedOut: "move_out"}[model]
        # A move out keeps the last division in the district (its staff still see the person), as the registry does.
        inside, outside = COMMUNITY, "340202001001"  # 镜湖区: outside the district
        return model(**self.ref(), change_id=uuid.uuid4(), kind=kind,
                     from_division=outside if in_district else inside, to_division=inside if in_district else outside,
                     effective_date=TODAY - timedelta(days=3), in_district=in_district)  # fmt: skip

    def overpaid(self) -> ev.AssistanceOverpaymentDetected:
        return ev.AssistanceOverpaymentDetected(
            **self.ref(),
            overpayment_id=uuid.uuid5(self.id, "overpayment"),
            program="dibao",
            amount=Decimal("500.00"),
            reason="paid after death",
        )

    def overpayment_resolved(self) -> ev.AssistanceOverpaymentResolved:
        return ev.AssistanceOverpaymentResolved(
            **self.ref(), overpayment_id=uuid.uuid5(self.id, "overpayment"), program="dibao", amount=Decimal("500.00"),
            outcome="recovered", resolved_on=TODAY, resolved_by="caseworker",
        )  # fmt: skip

    def review_due(self, days_ago: int) -> ev.ReviewDue:
        return ev.ReviewDue(**self.ref(), case_id=_case_id(self, "dibao"), program="dibao",
                            due_on=TODAY - timedelta(days=days_ago))  # fmt: skip

    def income(self, amount: Decimal) -> ev.PartnerIncome:
        return ev.PartnerIncome(id_number=self.number, monthly_amount=amount, period=f"{TODAY:%Y-%m}",
                                reference=f"I-{uuid.uuid4().hex[:10]}")  # fmt: skip

    def medical(self, amount: Decimal) -> ev.PartnerMedicalExpense:
        return ev.PartnerMedicalExpense(id_number=self.number, amount=amount, date=TODAY - timedelta(days=2),
                                        reference=f"M-{uuid.uuid4().hex[:10]}")  # fmt: skip

    def household(self) -> ev.HouseholdChanged:
        head, child = ev.HouseholdMember(person_id=self.id, relation="head"), uuid.uuid4()
        return ev.HouseholdChanged(
            household_id=uuid.uuid5(self.id, "household"),
            hukou_division=COMMUNITY,
            head_person_id=self.id,
            reason="birth",
            members_before=[head],
            members_after=[head, ev.HouseholdMember(person_id=child, relation="child")],
        )


def _case_id(p: Person, program: str) -> uuid.UUID:
    return uuid.uuid5(p.id, program)


Events = Callable[[Person, "Figures"], list[BaseModel]]


@dataclass(frozen=True)
class Figures:
    """The thresholds in force, read from the service (the cases' amounts are set around them)."""

    standard: Decimal
    medical: Decimal


@dataclass(frozen=True)
class Case:
    """One rule's row of the table."""

    kind: str
    raising: Events  # in the order their producers send them
    resolving: Events
    reason: str  # the resolution the alert must close with
    reorder: tuple[int, ...]  # the out-of-order delivery of raising + resolving events (indices into them)
    ages: tuple[int, int] = (30, 50)
    calendar: bool = False  # raised by the warnings run, not by an event
    caveat: str = ""  # where a variant cannot apply as written, and why


def _resolved(reason: str) -> str:
    return f"auto: {reason}"


CASES: tuple[Case, ...] = (
    Case("beneficiary_died",
         lambda p, f: [p.case(ev.CaseEnrolled), p.died(), p.case(ev.CaseSuspended, reason="death")],
         lambda p, f: [p.revoked(), p.case(ev.CaseResumed)],
         _resolved("the death was revoked"),
         reorder=(1, 0, 2, 4, 3)),  # the death before the case it ends; the case resumed before the revocation
    Case("beneficiary_moved_out",
         lambda p, f: [p.case(ev.CaseEnrolled), p.hukou(ev.HukouMovedOut, in_district=False)],
         lambda p, f: [p.hukou(ev.HukouMovedIn, in_district=True)],
         _resolved("the person is registered in the district again or no benefit is at stake"),
         reorder=(1, 0, 2)),  # the move out before the case
    Case("paid_after_death",
         lambda p, f: [p.case(ev.CaseEnrolled), p.died(), p.overpaid()],
         lambda p, f: [p.overpayment_resolved()],
         _resolved("overpayment recovered"),
         reorder=(0, 2, 1, 3)),  # the overpayment before the death it follows
    Case("income_above_standard",
         lambda p, f: [p.case(ev.CaseEnrolled), p.income(f.standard * 2)],
         lambda p, f: [p.income(f.standard / 2)],
         _resolved("income fell below the standard or the case left dibao"),
         reorder=(1, 0, 2)),  # the income before the case
    Case("high_medical_expense",
         lambda p, f: [p.case(ev.CaseEnrolled), p.medical(f.medical + 1000)],
         lambda p, f: [p.case(ev.CaseTerminated, effective_date=TODAY)],
         _resolved("no longer a low-income household or the expense was settled"),
         reorder=(1, 0, 2)),  # the bill before the case
    Case("household_changed",
         lambda p, f: [p.case(ev.CaseEnrolled), p.household()],
         lambda p, f: [p.case(ev.CaseAmountChanged, effective_date=TODAY)],
         _resolved("the household was reviewed after the change"),
         reorder=(1, 0, 2)),  # the registry's change before assistance's case
    Case("review_overdue",
         lambda p, f: [p.case(ev.CaseEnrolled), p.review_due(REVIEW_GRACE_DAYS_PAST)],
         lambda p, f: [p.case(ev.CaseAmountChanged, effective_date=TODAY)],
         _resolved("the review was done"),
         reorder=(1, 0, 2), calendar=True,
         caveat="both raising events are assistance's, keyed by person (one partition): reordered "
                           "anyway, as a repair by reconciliation could deliver them"),  # fmt: skip
    Case("uncovered_need",
         lambda p, f: [p.case(ev.CaseEnrolled), p.case(ev.CaseTerminated), p.income(f.standard * Decimal("1.2"))],
         lambda p, f: [p.case(ev.CaseEnrolled, program="tekun", effective_date=TODAY)],
         _resolved("the person is now covered by a program or left the list"),
         reorder=(0, 2, 1, 3)),  # the marginal income while the dibao case is still active
    Case("elder_without_allowance",
         lambda p, f: [p.case(ev.CaseEnrolled, program="tekun"), p.allowance(ev.AllowanceStopped, "stopped", "review")],
         lambda p, f: [p.allowance(ev.AllowanceEnrolled, "active")],
         _resolved("the old-age allowance was enrolled"),
         reorder=(1, 0, 2), ages=(82, 95), calendar=True),  # eldercare's stop before assistance's case
    Case("child_turning_18",
         lambda p, f: [p.hukou(ev.HukouMovedIn, in_district=True), p.case(ev.CaseEnrolled, program="orphan")],
         lambda p, f: [p.case(ev.CaseTerminated, program="orphan", effective_date=TODAY)],
         _resolved("the child's program ended"),
         reorder=(1, 0, 2), ages=(18, 19), calendar=True),  # the orphan case before the move in
)  # fmt: skip


@dataclass
class Run:
    """One variant of one case: its person and the events it publishes, step by step."""

    case: Case
    variant: str
    person: Person
    raising: list[list[BaseModel]] = field(default_factory=list)  # per step, the payloads (a step may hold copies)
    resolving: list[list[BaseModel]] = field(default_factory=list)


def plan(case: Case, variant: str, figures: Figures) -> Run:
    p = Person(*case.ages)
    raising, resolving = case.raising(p, figures), case.resolving(p, figures)
    if variant == "out_of_order":
        everything = raising + resolving
        ordered = [everything[i] for i in case.reorder]
        raising, resolving = ordered[: len(raising)], ordered[len(raising) :]
    if variant != "stranger":
        raising = [p.registered(), *raising]
    copies = 2 if variant == "duplicated" else 1
    return Run(case, variant, p, [[e] * copies for e in raising], [[e] * copies for e in resolving])


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: dict[str, Any]


def messages(payloads: list[BaseModel]) -> list[Message]:
    """The CloudEvents of a step: the first copy of a payload as published, the second both redelivered under
    the same id and re-published under a new one."""
    out: list[Message] = []
    for n, payload in enumerate(payloads):
        spec = ev.spec_of(payload)
        key = str(getattr(payload, spec.key_field)) if spec.key_field else payload.id_number  # type: ignore[attr-defined]
        event = envelope(service=spec.service, type=spec.type, subject=key, data=payload)
        if n == 0:
            out.append(Message(spec.topic, key, event))
        else:
            again = envelope(service=spec.service, type=spec.type, subject=key, data=payload)
            out += [Message(spec.topic, key, out[-1].value), Message(spec.topic, key, again)]
    return out


async def publish_step(stack: Stack, producer: AIOKafkaProducer, steps: list[list[BaseModel]]) -> None:
    """Every variant's events of one step at once; then wait until monitoring has processed all of them."""
    sent = [m for payloads in steps for m in messages(payloads)]
    await asyncio.gather(*[producer.send_and_wait(m.topic, json.dumps(m.value).encode(), key=m.key.encode())
                           for m in sent])  # fmt: skip
    await processed(stack, {m.value["id"] for m in sent})


async def processed(stack: Stack, ids: set[str], timeout: float = 20) -> None:
    engine = make_engine(stack.infra.pg.url("monitoring"))
    # The records' consumers: the month figures' consumer (monitoring.flows) records the same case events apart.
    sql = text("SELECT count(DISTINCT event_id) FROM processed_events WHERE event_id = ANY(:ids)"
               " AND consumer <> 'monitoring.flows'")  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with engine.connect() as conn:
                done = (await conn.execute(sql, {"ids": sorted(ids)})).scalar_one()
            if done == len(ids):
                return
            assert time.monotonic() < deadline, f"monitoring processed {done} of {len(ids)} events"
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def town_alerts(m: Any) -> list[dict[str, Any]]:  # noqa: ANN401
    r = await m.get("/v1/alerts", params={"division": TOWN, "limit": 500})
    assert r.status_code == 200, r.text
    assert r.json()["total"] <= 500
    return r.json()["items"]


async def alert_events(stack: Stack, people: set[str], expected: int, timeout: float = 20) -> list[dict[str, Any]]:
    """The events on monitoring.alerts.v1 about these persons, once `expected` of them are there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.broker.bootstrap, enable_auto_commit=False)
    await consumer.start()  # no group: the partitions assigned by hand, read from the start (no join to wait for)
    await consumer.topics()  # fetches the cluster's metadata
    partitions = [
        TopicPartition(ev.MONITORING_ALERTS, n) for n in consumer.partitions_for_topic(ev.MONITORING_ALERTS) or []
    ]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                found += [e for e in (json.loads(m.value) for m in batch) if e["data"].get("person_id") in people]
    finally:
        await consumer.stop()
    return found


def by_person(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        out.setdefault(a["person_id"], []).append(a)
    return out


def one_alert_per_kind(runs: list[Run], alerts: list[dict[str, Any]]) -> None:
    for person, theirs in by_person(alerts).items():
        kinds = [a["kind"] for a in theirs]
        assert len(kinds) == len(set(kinds)), f"{person}: two alerts of a kind: {sorted(kinds)}"


async def test_every_rule_in_order_out_of_order_duplicated_and_for_a_stranger(stack: Stack) -> None:
    staff = token(division=TOWN)
    async with stack["monitoring"].client(staff) as m:
        rows = (await m.get("/v1/settings/warnings")).json()  # by effective date: the last in force today
        row = [r for r in rows if r["effective_from"] <= TODAY.isoformat()][-1]
        figures = Figures(Decimal(row["dibao_standard"]), Decimal(row["medical_expense_threshold"]))
        runs = [plan(case, variant, figures) for case in CASES for variant in VARIANTS]
        producer = AIOKafkaProducer(bootstrap_servers=stack.infra.broker.bootstrap, acks="all")
        await producer.start()
        try:
            for k in range(max(len(r.raising) for r in runs)):
                await publish_step(stack, producer, [r.raising[k] for r in runs if k < len(r.raising)])
            for _ in range(2):  # the calendar rules: one alert per situation however often the run goes
                r = await m.post("/v1/warnings/run", json={"as_of": TODAY.isoformat()})
                assert r.status_code == 200, r.text

            raised = by_person(await town_alerts(m))
            for run in runs:
                mine = [(a["kind"], a["status"]) for a in raised.get(str(run.person.id), [])]
                assert mine.count((run.case.kind, "open")) == 1, (run.case.kind, run.variant, mine)

            for k in range(max(len(r.resolving) for r in runs)):
                await publish_step(stack, producer, [r.resolving[k] for r in runs if k < len(r.resolving)])
            r = await m.post("/v1/warnings/run", json={"as_of": TODAY.isoformat()})  # nothing raised again
            assert r.status_code == 200, r.text
        finally:
            await producer.stop()

        final = await town_alerts(m)
        one_alert_per_kind(runs, final)
        closed = by_person(final)
        for run in runs:
            mine = [(a["kind"], a["status"], a["resolution"]) for a in closed.get(str(run.person.id), [])]
            assert (run.case.kind, "resolved", run.case.reason) in mine, (run.case.kind, run.variant, mine)

    people = {str(r.person.id) for r in runs}
    expected = sum(2 if a["status"] == "resolved" else 1 for a in final if a["person_id"] in people)
    events = await alert_events(stack, people, expected)
    for run in runs:
        mine = [(e["type"], e["data"]["alert_id"]) for e in events
                if e["data"]["person_id"] == str(run.person.id) and e["data"]["kind"] == run.case.kind]  # fmt: skip
        types = sorted(t for t, _ in mine)
        assert types == ["monitoring.alert.raised", "monitoring.alert.resolved"], (run.case.kind, run.variant, mine)
        assert len({a for _, a in mine}) == 1, (run.case.kind, run.variant, mine)
