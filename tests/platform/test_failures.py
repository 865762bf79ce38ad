"""Failure behaviour: broker outages, PostgreSQL stopped mid-burst, poison messages, consumers killed mid-batch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import uuid
from datetime import date, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select, text

from services.assistance.handlers import registry_events as assistance_registry_events
from shared import devstack, metrics
from shared.consumer import ConsumerRunner
from shared.db import make_engine, make_sessionmaker, outbox, processed_events
from shared.dlq import read_topic
from shared.kafka import TOPICS, create_topics, dlq
from tests.platform.dlq_support import dead_letters
from tests.support import (
    Infra,
    Stack,
    eventually,
    new_id_number,
    partner_death,
    produce,
    start_service,
    wait_consumers_assigned,
)

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


async def test_deaths_recorded_while_broker_is_down_are_published_when_it_returns(infra: Infra, tmp_path) -> None:
    """The broker process is stopped (SIGSTOP: it answers nothing) while deaths are recorded.

    A stopped process keeps its topics, as a real Kafka broker keeps them on disk;
    restarting the local memory-only broker instead would lose them and test that
    broker, not the outbox.
    """
    broker = devstack.Broker(devstack.free_port(), log_path=tmp_path / "outage-broker.log")
    broker.start()
    await create_topics(broker.bootstrap)
    url = infra.database(f"registry_outage_{uuid.uuid4().hex[:6]}", "registry")
    registry = await start_service(
        "registry",
        infra.settings(
            "registry",
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            consumers_enabled=False,
            kafka_request_timeout_ms=1000,
        ),
    )
    assert broker.proc is not None
    try:
        async with registry.client() as c:
            numbers = [new_id_number() for _ in range(5)]
            for n in numbers:
                assert (
                    await c.post("/v1/persons", json={"id_number": n, "name": "李桂兰", "hukou_division": "340207001"})
                ).status_code == 201
            await eventually(lambda: _backlog(c, 0))

            os.kill(broker.proc.pid, signal.SIGSTOP)
            for i, n in enumerate(numbers):
                r = await c.post(
                    "/v1/deaths",
                    json={
                        "id_number": n,
                        "date_of_death": YESTERDAY,
                        "source": "hospital",
                        "reference": f"OUT-{i}-{n[-6:]}",
                    },
                )
                assert r.status_code == 201, r.text
            await asyncio.sleep(4)  # the relay tries, times out after 1 s, rolls back, tries again
            await eventually(lambda: _backlog(c, 5))  # held in the outbox, not lost, not marked published
            ready = await c.get("/readyz")
            assert ready.status_code == 200  # a broker outage does not take the service out of rotation

            os.kill(broker.proc.pid, signal.SIGCONT)
            await eventually(lambda: _backlog(c, 0), timeout=30)  # the relay published them all
            died = await _deaths_on_topic(broker.bootstrap, set(numbers), timeout=20)
            assert set(died) == set(numbers)
        # On the topic itself: each person's death after their registration on the same partition, and
        # one event id per death, the outbox row's (a batch sent again after the timeout keeps its ids).
        on_topic = _by_person(await read_topic(broker.bootstrap, "registry.events.v1"))
        async with registry.state.sessionmaker() as s:
            died_rows = await s.execute(select(outbox.c.id).where(outbox.c.type == "registry.person.died"))
            outbox_ids = set(died_rows.scalars())
        for n in numbers:
            registered, died_events = on_topic[n]["registry.person.registered"], on_topic[n]["registry.person.died"]
            assert len({e for _, _, e in died_events}) == 1 and len({e for _, _, e in registered}) == 1
            assert registered[0][0] == died_events[0][0] and registered[-1][1] < died_events[0][1]
        assert {e for n in numbers for _, _, e in on_topic[n]["registry.person.died"]} == {str(i) for i in outbox_ids}
    finally:
        if broker.proc is not None:
            os.kill(broker.proc.pid, signal.SIGCONT)
        await registry.stop()
        broker.stop()


def _by_person(records: list) -> dict[str, dict[str, list[tuple[int, int, str]]]]:
    """id number → event type → (partition, offset, event id) of each copy on the topic, in offset order."""
    found: dict[str, dict[str, list[tuple[int, int, str]]]] = {}
    for m in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = json.loads(m.value)
        number = event["data"].get("id_number")
        found.setdefault(number, {}).setdefault(event["type"], []).append((m.partition, m.offset, event["id"]))
    return found


async def _deaths_on_topic(bootstrap: str, wanted: set[str], timeout: float) -> dict[str, set[str]]:
    """id number → the event ids of its registry.person.died events seen on the topic."""
    consumer = AIOKafkaConsumer(
        "registry.events.v1",
        bootstrap_servers=bootstrap,
        group_id=f"t-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    seen: dict[str, set[str]] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not wanted <= set(seen) and loop.time() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=200)).values():
                for m in msgs:
                    event = json.loads(m.value)
                    if event["type"] == "registry.person.died":
                        seen.setdefault(event["data"]["id_number"], set()).add(event["id"])
    finally:
        await consumer.stop()
    return seen


async def _backlog(client, expected: int, at_least: bool = False) -> bool:  # noqa: ANN001
    body = (await client.get("/readyz")).json()
    backlog = body.get("outbox_backlog")
    return backlog is not None and (backlog >= expected if at_least else backlog == expected)


async def test_malformed_events_go_to_the_dead_letter_topic_and_the_next_is_processed(stack: Stack) -> None:
    bootstrap = stack.infra.broker.bootstrap
    id_number = new_id_number()
    async with stack["registry"].client() as c:
        assert (
            await c.post("/v1/persons", json={"id_number": id_number, "name": "张建国", "hukou_division": "340207002"})
        ).status_code == 201
        marker = uuid.uuid4().hex
        await produce(bootstrap, "partner.deaths.v1", b"{not json " + marker.encode(), key="p")
        bad_payload = partner_death("123456789012345678", YESTERDAY)  # fails the check digit
        await produce(bootstrap, "partner.deaths.v1", bad_payload, key="p")
        await produce(bootstrap, "partner.deaths.v1", partner_death(id_number, YESTERDAY, "public_security"), key="p")

        async def deceased() -> bool:
            r = await c.get("/v1/persons", params={"id_number": id_number})
            return r.json()["items"][0]["status"] == "deceased"

        await eventually(deceased, timeout=10)
    # Read from the dead-letter topic itself: each of ours there once, refused at once (no retries).
    dead = await dead_letters(bootstrap, "partner.deaths.v1.dlq", {marker, bad_payload["id"]}, by="marker")
    assert sorted(len(copies) for copies in dead.values()) == [1, 1]
    ours = [copies[0] for copies in dead.values()]
    errors = [dict(m.headers)["dlq-error"].decode() for m in ours]
    assert any(e.startswith("malformed") for e in errors)
    assert any("id_number" in e for e in errors)
    assert all(dict(m.headers)["dlq-original-topic"] == b"partner.deaths.v1" for m in ours)
    assert all(dict(m.headers)["dlq-attempts"] == b"0" for m in ours)


async def test_binary_mode_partner_events_are_accepted(stack: Stack) -> None:
    id_number = new_id_number()
    async with stack["registry"].client() as c:
        assert (
            await c.post("/v1/persons", json={"id_number": id_number, "name": "赵玉梅", "hukou_division": "340207101"})
        ).status_code == 201
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", str(uuid.uuid4()).encode()),
            ("ce_source", b"/partners/funeral"),
            ("ce_type", b"partner.death.reported"),
            ("content-type", b"application/json"),
        ]
        body = {
            "id_number": id_number,
            "date_of_death": YESTERDAY,
            "source": "funeral_home",
            "reference": f"BIN-{uuid.uuid4().hex[:8]}",
        }
        await produce(stack.infra.broker.bootstrap, "partner.deaths.v1", body, key="f", headers=headers)

        async def deceased() -> bool:
            return (await c.get("/v1/persons", params={"id_number": id_number})).json()["items"][0][
                "status"
            ] == "deceased"

        await eventually(deceased, timeout=10)


async def test_consumer_killed_mid_batch_applies_no_effect_twice(infra: Infra, tmp_path) -> None:
    """Kill the assistance consumer while it works through deaths; restart; every case suspended once."""
    broker = devstack.Broker(devstack.free_port(), log_path=tmp_path / "crash-broker.log")
    broker.start()
    await create_topics(broker.bootstrap, partitions=1)
    url = infra.database(f"assistance_crash_{uuid.uuid4().hex[:6]}", "assistance")
    settings = infra.settings(
        "assistance",
        database_url=url,
        kafka_bootstrap_servers=broker.bootstrap,
        consumer_group="crash-test",
        consumer_session_timeout_ms=6000,
        # Small chunks, so there is work in hand when the kill comes: a chunk of deaths is one statement now,
        # and two chunks of 250 finished before the kill could land.
        consumer_batch_size=10,
    )
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    n = 300
    person_ids = [uuid.uuid4() for _ in range(n)]
    try:
        async with sessionmaker() as s, s.begin():
            for pid in person_ids:
                await s.execute(
                    text(
                        "INSERT INTO cases (id, person_id, id_number, program, monthly_amount, status, started_on, "
                        "hukou_division) "
                        "VALUES (:id, :pid, :num, 'dibao', 500.00, 'active', CURRENT_DATE, '340207001')"
                    ),
                    {"id": uuid.uuid4(), "pid": pid, "num": new_id_number()},
                )
        events = [
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "/minzheng/registry",
                "type": "registry.person.died",
                "subject": str(pid),
                "datacontenttype": "application/json",
                "data": {
                    "person_id": str(pid),
                    "id_number": new_id_number(),
                    "hukou_division": "340207001",
                    "death_id": str(uuid.uuid4()),
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "status": "reported",
                },
            }
            for pid in person_ids
        ]
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        for e in events:
            await producer.send("registry.events.v1", json.dumps(e).encode(), key=e["subject"].encode())
        await producer.flush()
        await producer.stop()

        async def processed() -> int:
            async with sessionmaker() as s:
                return (await s.execute(select(func.count()).select_from(processed_events))).scalar_one()

        first = ConsumerRunner(settings, sessionmaker, assistance_registry_events)
        first.start()
        await eventually(lambda: _at_least(processed, 20), timeout=30, interval=0.01)
        await first.kill()  # mid-batch: no offset commit for the work in hand
        done_at_kill = await processed()
        assert done_at_kill < n, "the consumer finished before it could be killed; the test proves nothing"

        second = ConsumerRunner(settings, sessionmaker, assistance_registry_events)
        second.start()
        await eventually(lambda: _at_least(processed, n), timeout=60, interval=0.1)
        await second.stop()

        async with sessionmaker() as s:
            per_case = (
                await s.execute(
                    select(outbox.c.key, func.count())
                    .where(outbox.c.type == "assistance.case.suspended")
                    .group_by(outbox.c.key)
                )
            ).all()
            statuses = (await s.execute(text("SELECT status, count(*) FROM cases GROUP BY status"))).all()
        assert len(per_case) == n and all(count == 1 for _, count in per_case)
        assert dict(statuses) == {"suspended": n}
    finally:
        await engine.dispose()
        broker.stop()


async def _at_least(fn, n: int) -> bool:  # noqa: ANN001
    return (await fn()) >= n


def _died(person_id: uuid.UUID) -> dict:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/minzheng/registry",
        "type": "registry.person.died",
        "subject": str(person_id),
        "datacontenttype": "application/json",
        "data": {
            "person_id": str(person_id),
            "id_number": new_id_number(),
            "hukou_division": "340207001",
            "death_id": str(uuid.uuid4()),
            "date_of_death": YESTERDAY,
            "source": "hospital",
            "status": "reported",
        },
    }


async def _seed_benefits(assistance_url: str, eldercare_url: str, person_ids: list[uuid.UUID]) -> None:
    """An active dibao case and an active old-age allowance for each person."""
    rows = [{"id": uuid.uuid4(), "pid": pid, "num": new_id_number()} for pid in person_ids]
    for url, sql in (
        (
            assistance_url,
            "INSERT INTO cases (id, person_id, id_number, program, monthly_amount, status, started_on, hukou_division)"
            " VALUES (:id, :pid, :num, 'dibao', 500.00, 'active', CURRENT_DATE, '340207001')",
        ),
        (
            eldercare_url,
            "INSERT INTO allowances (id, person_id, id_number, status, monthly_amount, explanation, started_on,"
            " hukou_division) VALUES (:id, :pid, :num, 'active', 100.00, 'seeded', CURRENT_DATE, '340207001')",
        ),
    ):
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql), rows)
        finally:
            await engine.dispose()


def _stop_immediately(pg: devstack.Postgres) -> None:
    """`pg_ctl stop -m immediate`: the server dies as in a crash; connections break mid-transaction."""
    run = {"user": pg.user} if pg.user else {}
    done = subprocess.run(
        [pg._bin("pg_ctl"), "-D", str(pg.data_dir), "-m", "immediate", "-w", "stop"],  # noqa: SLF001
        capture_output=True,
        text=True,
        **run,
    )
    assert done.returncode == 0, f"pg_ctl stop failed: {done.stdout} {done.stderr}"


async def test_postgresql_down_longer_than_any_retry_budget_dead_letters_nothing(infra: Infra, tmp_path) -> None:
    """PostgreSQL stopped (immediate) for 10 s in the middle of a burst of deaths, then started again.

    Assistance and eldercare wait (readiness and the waiting gauge say so) and
    resume where they were: every case suspended and every allowance stopped
    exactly once, and nothing on any dead-letter topic.
    """
    broker = devstack.Broker(devstack.free_port(), log_path=tmp_path / "fault-broker.log")
    broker.start()
    pg = devstack.Postgres(tmp_path / "fault-pg", port=devstack.free_port())
    await asyncio.to_thread(pg.start)
    services: list = []
    try:
        await create_topics(broker.bootstrap)
        private = Infra(pg, broker)
        urls = {name: await asyncio.to_thread(private.database, name, name) for name in ("assistance", "eldercare")}
        n = 200
        person_ids = [uuid.uuid4() for _ in range(n)]
        await _seed_benefits(urls["assistance"], urls["eldercare"], person_ids)
        for name in ("assistance", "eldercare"):
            services.append(await start_service(name, private.settings(name, database_url=urls[name])))
        await wait_consumers_assigned(*services)

        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        events = [_died(pid) for pid in person_ids]
        for e in events[: n // 2]:  # the first half at once
            await producer.send("registry.events.v1", json.dumps(e).encode(), key=e["subject"].encode())
        await producer.flush()
        await eventually(lambda: _processed_any(urls["assistance"]), timeout=20, interval=0.01)
        _stop_immediately(pg)
        stopped_at = asyncio.get_running_loop().time()
        for e in events[n // 2 :]:  # the second half while the database is down
            await producer.send("registry.events.v1", json.dumps(e).encode(), key=e["subject"].encode())
        await producer.flush()
        await producer.stop()

        seen_waiting: dict[str, set[str]] = {s.name: set() for s in services}
        gauge_seen = set()
        while asyncio.get_running_loop().time() - stopped_at < 10:
            for svc in services:
                async with svc.client() as c:
                    ready = await c.get("/readyz")
                assert ready.status_code == 503  # the database is down
                for consumer, state in ready.json()["consumers"].items():
                    seen_waiting[svc.name] |= {w["on"] for w in state["waiting"].values()}
                    value = metrics.CONSUMER_WAITING.labels(svc.name, consumer, "database")._value.get()  # noqa: SLF001
                    if value == 1:
                        gauge_seen.add(svc.name)
            await asyncio.sleep(0.5)
        assert seen_waiting == {"assistance": {"database"}, "eldercare": {"database"}}
        assert gauge_seen == {"assistance", "eldercare"}

        await asyncio.to_thread(pg.start)
        for name in ("assistance", "eldercare"):
            await eventually(lambda name=name: _processed_all(urls[name], n), timeout=60, interval=0.2)

        assert await _effects(urls["assistance"], "cases", "assistance.case.suspended") == ({"suspended": n}, n)
        assert await _effects(urls["eldercare"], "allowances", "eldercare.allowance.stopped") == ({"stopped": n}, n)
        for svc in services:
            async with svc.client() as c:
                body = (await c.get("/readyz")).json()
            assert all(state["waiting"] == {} for state in body["consumers"].values())
        for topic in TOPICS:
            assert await read_topic(broker.bootstrap, dlq(topic)) == [], f"{dlq(topic)} is not empty"
    finally:
        for svc in services:
            with contextlib.suppress(Exception):
                await svc.stop()
        broker.stop()
        await asyncio.to_thread(pg.stop)


async def _count(url: str, sql: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _processed_any(url: str) -> bool:
    return await _count(url, "SELECT count(*) FROM processed_events") > 0


async def _processed_all(url: str, n: int) -> bool:
    return await _count(url, "SELECT count(*) FROM processed_events WHERE type = 'registry.person.died'") >= n


async def _effects(url: str, table: str, event_type: str) -> tuple[dict[str, int], int]:
    """(rows by status, how many of them have exactly one `event_type` event in the outbox)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            statuses = dict((await conn.execute(text(f"SELECT status, count(*) FROM {table} GROUP BY status"))).all())  # noqa: S608
            once = (
                await conn.execute(
                    select(func.count()).select_from(
                        select(outbox.c.key)
                        .where(outbox.c.type == event_type)
                        .group_by(outbox.c.key)
                        .having(func.count() == 1)
                        .subquery()
                    )
                )
            ).scalar_one()
            total = (await conn.execute(select(func.count()).where(outbox.c.type == event_type))).scalar_one()
        assert total == once, f"{total - once} {event_type} event(s) written twice"
        return statuses, once
    finally:
        await engine.dispose()
