"""What ends on a dead-letter topic, read from the topic itself, and how an operator replays it.

Anything wrong with a message goes to `<topic>.dlq` at once (attempts 0) with
the reason in its headers, and the next message of the partition is applied;
a key that is not UTF-8 is no fault (keys are opaque bytes). A replayed event
has one effect however often it is replayed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from services.cli import app as cli
from shared import devstack
from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker, processed_events
from shared.dlq import read_topic
from shared.kafka import create_topics
from shared.people import people
from tests.platform.dlq_support import dead_letters
from tests.support import Infra, Stack, eventually, new_id_number, partner_death

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
PARTNER = "partner.deaths.v1"
NOT_UTF8 = b"\xff\xfe\x80key"


async def _send_in_order(
    bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes, list]], partition: int | None = 0
) -> None:
    """Send (key, value, headers) in order to one partition (0, or the key's), so each follows the one before it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, partition=partition, headers=headers)
    finally:
        await producer.stop()


async def test_every_kind_of_bad_message_is_dead_lettered_at_once_and_the_next_is_applied(stack: Stack) -> None:
    bootstrap = stack.infra.broker.bootstrap
    first, last = new_id_number(), new_id_number()
    async with stack["registry"].client() as c:
        for n in (first, last):
            person = {"id_number": n, "name": "刘淑珍", "hukou_division": "340207003"}
            assert (await c.post("/v1/persons", json=person)).status_code == 201

        def death(id_number: str, marker: str) -> dict:
            return partner_death(id_number, YESTERDAY, reference=marker)

        markers = {k: f"{k}-{uuid.uuid4().hex[:12]}" for k in ("no-id", "unknown-type", "unfit", "wrong-topic")}
        no_id = death(new_id_number(), markers["no-id"])
        del no_id["id"]
        unknown_type = {**death(new_id_number(), markers["unknown-type"]), "type": "partner.death.reportd"}
        unfit = death(new_id_number(), markers["unfit"])
        unfit["data"]["date_of_death"] = "the day before yesterday"
        wrong_topic = {**death(new_id_number(), markers["wrong-topic"]), "type": "registry.person.died"}
        good_first, good_last = death(first, f"ok-{uuid.uuid4().hex[:8]}"), death(last, f"ok-{uuid.uuid4().hex[:8]}")
        await _send_in_order(
            bootstrap,
            PARTNER,
            [
                (NOT_UTF8, json.dumps(good_first).encode(), []),  # a valid event with an opaque key: applied
                (NOT_UTF8, json.dumps(no_id).encode(), []),
                (b"p", json.dumps(unknown_type).encode(), []),
                (b"p", json.dumps(unfit).encode(), []),
                (b"p", json.dumps(wrong_topic).encode(), []),
                (b"p", json.dumps(good_last).encode(), []),
            ],
        )

        async def both_deceased() -> bool:
            for n in (first, last):
                r = await c.get("/v1/persons", params={"id_number": n})
                if r.json()["items"][0]["status"] != "deceased":
                    return False
            return True

        await eventually(both_deceased, timeout=15)

    dead = await dead_letters(bootstrap, f"{PARTNER}.dlq", set(markers.values()), by="marker")
    assert {k: len(dead.get(m, [])) for k, m in markers.items()} == dict.fromkeys(markers, 1)
    headers = {k: dict(dead[m][0].headers) for k, m in markers.items()}
    assert all(h["dlq-attempts"] == b"0" for h in headers.values())  # no retries: retrying cannot help
    assert all(h["dlq-original-topic"] == PARTNER.encode() for h in headers.values())
    assert all(h["dlq-consumer"] == b"registry.partner-feeds" for h in headers.values())
    assert headers["no-id"]["dlq-kind"] == b"malformed"
    assert b"'id' is missing" in headers["no-id"]["dlq-error"]
    assert dead[markers["no-id"]][0].key == NOT_UTF8  # the key travels as the bytes it was
    assert headers["unknown-type"]["dlq-kind"] == b"invalid"
    assert b"unknown event type" in headers["unknown-type"]["dlq-error"]
    assert headers["unfit"]["dlq-kind"] == b"invalid"
    assert b"date_of_death" in headers["unfit"]["dlq-error"]
    assert b"does not belong on partner.deaths.v1" in headers["wrong-topic"]["dlq-error"]
    applied = await dead_letters(bootstrap, f"{PARTNER}.dlq", {good_first["id"], good_last["id"]}, timeout=0)
    assert applied == {}


async def test_a_replayed_event_has_one_effect(infra: Infra, tmp_path, monkeypatch) -> None:
    """A rule fails an event until it is fixed; the operator lists the topic and replays it, twice."""
    broker = devstack.Broker(devstack.free_port(), log_path=tmp_path / "replay-broker.log")
    broker.start()
    url = infra.database(f"replay_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    settings = infra.settings(
        "assistance", database_url=url, kafka_bootstrap_servers=broker.bootstrap, consumer_retry_backoff_seconds=0.01
    )
    spec = Consumer(name="replay-test", topics=["registry.events.v1"])
    broken = True

    @spec.on("registry.person.milestone")
    async def on_milestone(session, event) -> None:  # noqa: ANN001
        if broken:
            raise RuntimeError("the age table is missing")
        await session.execute(
            people.insert().values(
                person_id=event.payload.person_id, id_number=new_id_number(), name="replayed", hukou_division="340207"
            )
        )

    runner = ConsumerRunner(settings, make_sessionmaker(engine), spec)
    secret_number = new_id_number()
    event, sentinel = _milestone(secret_number), _milestone(new_id_number())
    try:
        await create_topics(broker.bootstrap)
        runner.start()
        trace = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
        await _send_in_order(broker.bootstrap, "registry.events.v1", [(b"k", json.dumps(event).encode(), trace)], None)
        dead = await dead_letters(broker.bootstrap, "registry.events.v1.dlq", {event["id"]}, timeout=30)
        (letter,) = dead[event["id"]]
        assert dict(letter.headers)["dlq-attempts"] == str(settings.consumer_max_retries).encode()

        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
        listed = await _minzheng("dlq", "list", "--topic", "registry.events.v1")
        assert listed.exit_code == 0, listed.output
        assert "registry.events.v1.dlq: 1 message(s)" in listed.output
        assert all(text in listed.output for text in (event["id"], "replay-test", "the age table is missing"))
        assert secret_number not in listed.output  # no personal data

        broken = False  # the cause is fixed
        for args in (["--offset", str(letter.offset)], ["--all"]):  # replayed twice
            replayed = await _minzheng("dlq", "replay", "--topic", "registry.events.v1.dlq", *args)
            assert replayed.exit_code == 0, replayed.output
            assert "replayed 1 message(s)" in replayed.output
        again = [m for m in await read_topic(broker.bootstrap, "registry.events.v1") if m.value == letter.value]
        assert len(again) == 3  # the original and two replays, the same event id each time
        assert all(dict(m.headers).keys() == {"traceparent"} and m.key == b"k" for m in again)  # dlq-* removed

        # A later event of the same key (the same partition) is applied only after both replays were read.
        await _send_in_order(broker.bootstrap, "registry.events.v1", [(b"k", json.dumps(sentinel).encode(), [])], None)

        async def applied() -> list[str]:
            async with engine.connect() as conn:
                return list((await conn.execute(select(processed_events.c.event_id))).scalars())

        await eventually(lambda: _contains(applied, sentinel["id"]), timeout=15)
        assert sorted(await applied()) == sorted([event["id"], sentinel["id"]])
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(people))).scalar_one() == 2  # one each
        unknown = await _minzheng("dlq", "replay", "--topic", "registry.events.v1", "--offset", "99")
        assert unknown.exit_code != 0 and "no message at 99" in unknown.output
    finally:
        await runner.stop()
        await engine.dispose()
        broker.stop()


async def _minzheng(*args: str) -> Result:
    """Run the command as an operator would (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def _contains(fn, item: str) -> bool:  # noqa: ANN001
    return item in await fn()


def _milestone(id_number: str) -> dict:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/minzheng/registry",
        "type": "registry.person.milestone",
        "subject": str(uuid.uuid4()),
        "data": {
            "person_id": str(uuid.uuid4()),
            "id_number": id_number,
            "hukou_division": "340207",
            "birth_date": "1946-01-01",
            "age": 80,
            "as_of": date.today().isoformat(),
        },
    }
