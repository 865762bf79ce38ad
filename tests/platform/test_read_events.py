"""read_events: a chunk read as one call per type, the same verdicts as reading each message alone."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from aiokafka.structs import ConsumerRecord

from shared.events import InvalidPayload, MalformedEvent, ReceivedEvent, read_event, read_events

TOPIC = "registry.events.v1"


def _milestone(age: object) -> dict:
    data = {
        "person_id": str(uuid.uuid4()),
        "id_number": "340207194005011238",
        "hukou_division": "340207",
        "birth_date": "1940-05-01",
        "age": age,
        "as_of": date(2026, 1, 1).isoformat(),
    }
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/t",
        "type": "registry.person.milestone",
        "data": data,
    }


def _record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def test_a_chunk_reads_as_each_message_alone_and_a_bad_payload_costs_only_itself() -> None:
    values = [
        json.dumps(_milestone(80)).encode(),
        json.dumps(_milestone("not an age")).encode(),  # fails its model: the group is validated again one by one
        b"{not json",
        json.dumps({**_milestone(90), "type": "registry.person.vanished"}).encode(),
        json.dumps(_milestone(100)).encode(),
    ]
    records = [_record(i, v) for i, v in enumerate(values)]
    results = read_events(records, TOPIC)
    assert [type(r) for r in results] == [ReceivedEvent, InvalidPayload, MalformedEvent, InvalidPayload, ReceivedEvent]
    for record, result in zip(records, results, strict=True):
        if isinstance(result, ReceivedEvent):
            assert result == read_event(record.value, record.key, record.headers, TOPIC)
        else:
            with pytest.raises(MalformedEvent) as alone:
                read_event(record.value, record.key, record.headers, TOPIC)
            assert str(result) == str(alone.value)  # the same reason on the dead-letter topic
    assert [r.payload.age for r in results if isinstance(r, ReceivedEvent)] == [80, 100]


def test_an_ignored_type_is_not_read_but_a_garbled_one_is() -> None:
    died = {**_milestone(80), "type": "registry.person.died", "data": {"unfit": True}}
    garbled = {**_milestone(80), "type": ["registry.person.died"]}
    records = [_record(0, json.dumps(died).encode()), _record(1, json.dumps(garbled).encode())]
    skipped, refused = read_events(records, TOPIC, frozenset({"registry.person.died"}))
    assert skipped is None
    assert isinstance(refused, MalformedEvent) and "'type' is missing" in str(refused)
