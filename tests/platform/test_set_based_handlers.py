"""The set-based consumers give what applying the events one by one gives.

500 events for 100 persons (registrations, deaths, revocations, confirmations,
hukou moves; cases and allowances enrolled, suspended, resumed and stopped)
interleaved across persons, each person's in order, are applied to a fresh
database twice: as one chunk through the consumer's batch handler, and one
event per transaction through its per-event handler. The rows and the events
written to the outbox must be the same, in the same order per person.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.assistance import handlers as assistance
from services.assistance.models import Case
from services.eldercare import handlers as eldercare
from services.eldercare.models import Allowance
from services.monitoring import handlers as monitoring
from shared import event_types as ev
from shared.consumer import Consumer
from shared.db import make_engine, make_sessionmaker
from shared.events import ReceivedEvent, typed
from tests.support import Infra, new_id_number

PERSONS = 100
EVENTS = 500
TODAY = date.today()
PROGRAMS = ["dibao", "tekun", "orphan", "disability_living"]


class Person:
    """One person of the scenario and what the registry and the other services say of them, in order."""

    def __init__(self, rng: random.Random):
        self.id = uuid.uuid4()
        self.id_number = new_id_number(60, 95)
        self.division = rng.choice(["340207001001", "340207002001", "340207003001"])
        self.cases = [(uuid.uuid4(), p) for p in rng.sample(PROGRAMS, rng.randint(0, 2))]
        self.allowance = uuid.uuid4() if rng.random() < 0.7 else None
        self.dead = False

    def ref(self) -> dict[str, Any]:
        return {"person_id": self.id, "id_number": self.id_number, "hukou_division": self.division}

    def registry_event(self, rng: random.Random, first: bool) -> BaseModel:
        """The next registry event: a registration first, then deaths, revocations, confirmations, moves."""
        dod = TODAY - timedelta(days=rng.randint(1, 30))
        if first:
            return ev.PersonRegistered(**self.ref(), name="测试", sex="F", birth_date=date(1940, 5, 1))
        death = {"death_id": uuid.uuid4(), "date_of_death": dod, "source": "hospital"}
        roll = rng.random()
        if self.dead and roll < 0.45:
            self.dead = False
            return ev.DeathRevoked(**self.ref(), death_id=uuid.uuid4(), date_of_death=dod, reason="recorded in error")
        if self.dead and roll < 0.6:
            return ev.DeathConfirmed(**self.ref(), **death, status="confirmed", sources=["hospital", "funeral_home"])
        if roll < 0.75:
            self.dead = True
            return ev.PersonDied(**self.ref(), **death, status="reported")
        self.division = rng.choice(["340207001002", "340207002002"])
        change = {"change_id": uuid.uuid4(), "from_division": None, "to_division": self.division}
        return ev.HukouTransferred(**self.ref(), **change, kind="transfer", effective_date=dod, in_district=True)

    def benefit_event(self, rng: random.Random) -> BaseModel:
        """A case or allowance event as assistance or eldercare would publish it."""
        status_by_model = {
            ev.CaseEnrolled: "active",
            ev.CaseResumed: "active",
            ev.CaseSuspended: "suspended",
            ev.CaseTerminated: "terminated",
            ev.AllowanceEnrolled: "active",
            ev.AllowanceStopped: "stopped",
        }
        reason = rng.choice(["death", "death", "review"])
        on = TODAY - timedelta(days=rng.randint(1, 30))
        common = {**self.ref(), "monthly_amount": Decimal("780.00"), "effective_date": on}
        if rng.random() < 0.6:
            model = rng.choice([ev.CaseEnrolled, ev.CaseResumed, ev.CaseSuspended, ev.CaseTerminated])
            program = rng.choice(PROGRAMS)
            return model(
                **common,
                case_id=uuid.uuid4(),
                program=program,
                status=status_by_model[model],
                reason=reason if model in (ev.CaseSuspended, ev.CaseTerminated) else None,
            )
        model = rng.choice([ev.AllowanceEnrolled, ev.AllowanceStopped])
        return model(
            **common,
            allowance_id=uuid.uuid4(),
            status=status_by_model[model],
            reason=reason if model is ev.AllowanceStopped else None,
        )


def received(payload: BaseModel) -> ReceivedEvent:
    """The payload as the runner hands it to a handler: an envelope read back and typed by the catalogue."""
    spec = ev.spec_of(payload)
    event = ReceivedEvent(
        id=str(uuid.uuid4()),
        type=spec.type,
        source=f"/minzheng/{spec.service}",
        subject=None,
        time=None,
        data=payload.model_dump(mode="json"),
        key=str(payload.person_id),  # type: ignore[attr-defined]
    )
    return typed(event, spec.topic)


def scenario(benefits: bool) -> tuple[list[Person], list[ReceivedEvent]]:
    """EVENTS events for PERSONS persons, interleaved at random, each person's in order."""
    rng = random.Random(20261129 + benefits)
    persons = [Person(rng) for _ in range(PERSONS)]
    queues: list[list[BaseModel]] = []
    for person in persons:
        events: list[BaseModel] = [person.registry_event(rng, first=True)]
        while len(events) < EVENTS // PERSONS:
            benefit = benefits and rng.random() < 0.5
            events.append(person.benefit_event(rng) if benefit else person.registry_event(rng, first=False))
        queues.append(events)
    order: list[BaseModel] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        order.append(queue.pop(0))
    return persons, [received(p) for p in order]


async def seed_cases(session: AsyncSession, persons: list[Person]) -> None:
    rows = [
        {
            "id": case_id,
            "person_id": p.id,
            "id_number": p.id_number,
            "program": program,
            "monthly_amount": Decimal("780.00"),
            "status": "active" if n == 0 else "terminated",
            "started_on": date(2024, 1, 1),
            "hukou_division": p.division,
        }
        for p in persons
        for n, (case_id, program) in enumerate(p.cases)
    ]
    await session.execute(insert(Case), rows)


async def seed_allowances(session: AsyncSession, persons: list[Person]) -> None:
    rows = [
        {
            "id": p.allowance,
            "person_id": p.id,
            "id_number": p.id_number,
            "status": "active",
            "monthly_amount": Decimal("100.00"),
            "explanation": "80-89",
            "started_on": date(2024, 1, 1),
            "hukou_division": p.division,
        }
        for p in persons
        if p.allowance
    ]
    await session.execute(insert(Allowance), rows)


Seed = Callable[[AsyncSession, list[Person]], Any]


async def database(
    infra: Infra, service: str, persons: list[Person], seed: Seed | None
) -> async_sessionmaker[AsyncSession]:
    url = infra.database(f"{service}_{uuid.uuid4().hex[:10]}", service)
    sessionmaker = make_sessionmaker(make_engine(url, pool_size=2))
    if seed is not None:
        async with sessionmaker() as session, session.begin():
            await seed(session, persons)
    return sessionmaker


async def at_once(
    sessionmaker: async_sessionmaker[AsyncSession], consumer: Consumer, events: list[ReceivedEvent]
) -> None:
    assert consumer.batch_handler is not None
    async with sessionmaker() as session, session.begin():
        assert await consumer.batch_handler(session, events) == {}


async def one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], consumer: Consumer, events: list[ReceivedEvent]
) -> None:
    """Each event through the per-event handler, as the runner's fallback applies them (one transaction here)."""
    async with sessionmaker() as session, session.begin():
        for event in events:
            handler = consumer.handlers.get(event.type)
            if handler is not None:
                await handler(session, event)


async def rows(sessionmaker: async_sessionmaker[AsyncSession], sql: str) -> list[tuple[Any, ...]]:
    async with sessionmaker() as session:
        return [tuple(r) for r in (await session.execute(text(sql))).all()]


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


async def outbox(sessionmaker: async_sessionmaker[AsyncSession], *generated: str) -> dict[str, list[tuple[Any, ...]]]:
    """The events written, per person in order: type and data (ids the service generates left out)."""
    by_person: dict[str, list[tuple[Any, ...]]] = {}
    for type_, data in await rows(sessionmaker, "SELECT type, envelope->'data' FROM outbox ORDER BY seq"):
        by_person.setdefault(data["person_id"], []).append((type_, without(data, *generated)))
    return by_person


PEOPLE = (
    "SELECT person_id, id_number, name, sex, birth_date, hukou_division, in_district, status, date_of_death"
    " FROM people ORDER BY person_id"
)


async def test_assistance_chunk_equals_one_by_one(infra: Infra) -> None:
    persons, events = scenario(benefits=False)
    chunk = await database(infra, "assistance", persons, seed_cases)
    single = await database(infra, "assistance", persons, seed_cases)
    await at_once(chunk, assistance.registry_events, events)
    await one_by_one(single, assistance.registry_events, events)

    cases = "SELECT id, status, status_reason, status_changed_on, hukou_division FROM cases ORDER BY id"
    assert await rows(chunk, cases) == await rows(single, cases)
    assert await rows(chunk, PEOPLE) == await rows(single, PEOPLE)
    published = await outbox(chunk)
    assert published == await outbox(single)
    # The scenario is not idle: deaths suspended cases and revocations resumed some.
    types = [t for events in published.values() for t, _ in events]
    assert types.count("assistance.case.suspended") > 10 and types.count("assistance.case.resumed") > 5
    assert len(await rows(chunk, PEOPLE)) == PERSONS


async def test_eldercare_chunk_equals_one_by_one(infra: Infra) -> None:
    persons, events = scenario(benefits=False)
    chunk = await database(infra, "eldercare", persons, seed_allowances)
    single = await database(infra, "eldercare", persons, seed_allowances)
    await at_once(chunk, eldercare.registry_events, events)
    await one_by_one(single, eldercare.registry_events, events)

    allowances = "SELECT id, status, stopped_on, stop_reason, hukou_division FROM allowances ORDER BY id"
    assert await rows(chunk, allowances) == await rows(single, allowances)
    assert await rows(chunk, PEOPLE) == await rows(single, PEOPLE)
    published = await outbox(chunk)
    assert published == await outbox(single)
    types = [t for events in published.values() for t, _ in events]
    assert types.count("eldercare.allowance.stopped") > 10 and types.count("eldercare.allowance.enrolled") > 5


async def test_monitoring_chunk_equals_one_by_one(infra: Infra) -> None:
    persons, events = scenario(benefits=True)
    chunk = await database(infra, "monitoring", persons, None)
    single = await database(infra, "monitoring", persons, None)
    await at_once(chunk, monitoring.service_events, events)
    await one_by_one(single, monitoring.service_events, events)

    records = (
        "SELECT person_id, id_number, name, status, date_of_death, categories, programs, hukou_division"
        " FROM records ORDER BY person_id"
    )
    history = (
        "SELECT r.person_id, h.event_id, h.event_type, h.change"
        " FROM record_history h JOIN records r ON r.id = h.record_id ORDER BY r.person_id, h.id"
    )
    alerts = (
        "SELECT person_id, kind, status, benefits, summary, details, hukou_division FROM alerts"
        " ORDER BY person_id, kind, status, summary, details::text"  # a person may now have alerts of several kinds
    )
    assert await rows(chunk, records) == await rows(single, records)
    assert await rows(chunk, history) == await rows(single, history)
    assert await rows(chunk, alerts) == await rows(single, alerts)
    published = await outbox(chunk, "record_id", "alert_id")
    assert published == await outbox(single, "record_id", "alert_id")

    assert len(await rows(chunk, records)) == PERSONS
    types = [t for events in published.values() for t, _ in events]
    raised = types.count("monitoring.alert.raised")
    # One alert per dead beneficiary, however many events told of the death.
    assert raised == len(await rows(chunk, alerts)) > 10
    assert types.count("monitoring.record.changed") == len(await rows(chunk, history)) > 100


async def statements(
    sessionmaker: async_sessionmaker[AsyncSession], consumer: Consumer, events: list[ReceivedEvent]
) -> int:
    """How many SQL statements the batch handler sends for a chunk."""
    engine = sessionmaker.kw["bind"].sync_engine
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        await at_once(sessionmaker, consumer, events)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


async def test_a_chunk_takes_a_fixed_number_of_statements_whatever_its_size(infra: Infra) -> None:
    """5 events or 500: the same handful of statements (no per-event query on the hot path)."""
    consumers = [
        ("assistance", assistance.registry_events, seed_cases, False),
        ("eldercare", eldercare.registry_events, seed_allowances, False),
        ("monitoring", monitoring.service_events, None, True),
    ]
    for service, consumer, seed, benefits in consumers:
        persons, events = scenario(benefits=benefits)
        counts = []
        for size in (5, EVENTS):
            sessionmaker = await database(infra, service, persons, seed)
            counts.append(await statements(sessionmaker, consumer, events[:size]))
        assert max(counts) <= 10, (service, counts)


async def test_a_chunk_of_deaths_alone_takes_the_cheap_path_and_gives_what_the_fold_gives(infra: Infra) -> None:
    """Deaths alone are applied by one SQL statement per service; the same deaths through the fold give the same
    cases, allowances and events (a person with two active cases: both suspended, their events in case order)."""
    rng = random.Random(7)
    persons = [Person(rng) for _ in range(20)]
    for p in persons:
        p.cases = [(uuid.uuid4(), "dibao"), (uuid.uuid4(), "disability_living")]
        p.allowance = p.allowance or uuid.uuid4()
    deaths = [p.registry_event(random.Random(n), first=False) for n, p in enumerate(persons)]
    deaths = [received(d) for d in deaths if isinstance(d, ev.PersonDied)]
    assert len(deaths) > 10

    async def both_active(session: AsyncSession, persons: list[Person]) -> None:
        await seed_cases(session, persons)
        await session.execute(text("UPDATE cases SET status = 'active'"))

    checks = [
        ("assistance", assistance, both_active, "SELECT id, status, status_reason, status_changed_on,"
         " status_before_death FROM cases ORDER BY id", "assistance.case.suspended"),
        ("eldercare", eldercare, seed_allowances, "SELECT id, status, stopped_on, stop_reason FROM allowances"
         " ORDER BY id", "eldercare.allowance.stopped"),
    ]  # fmt: skip
    for service, module, seed, table, stopped in checks:
        assert module.effects.deaths_only([d.payload for d in deaths]) is not None
        cheap = await database(infra, service, persons, seed)
        fold = await database(infra, service, persons, seed)
        await at_once(cheap, module.registry_events, deaths)
        async with fold() as session, session.begin():
            payloads = [d.payload for d in deaths]
            if service == "assistance":
                await assistance.effects.apply(session, payloads)
            else:
                await eldercare.effects.apply(session, payloads, await eldercare.effects.read(session, payloads))
        assert await rows(cheap, table) == await rows(fold, table)
        published = await outbox(cheap)
        assert published == await outbox(fold)
        per_case = 2 if service == "assistance" else 1
        assert [t for events in published.values() for t, _ in events] == [stopped] * (len(deaths) * per_case)
