"""Ignored types judged from the first bytes of a message the relay wrote, and only of such a message."""

from __future__ import annotations

import json
import uuid

from aiokafka.structs import ConsumerRecord

from shared.events import ReceivedEvent, read_events

TOPIC = "registry.events.v1"
IGNORED = frozenset({"registry.person.died"})
MILESTONE = {
    "person_id": str(uuid.uuid4()),
    "id_number": "340207194005011238",
    "hukou_division": "340207",
    "birth_date": "1940-05-01",
    "age": 80,
    "as_of": "2026-01-01",
}


def _relay_body(type: str, data: dict) -> bytes:
    """A structured event laid out as shared/outbox.py's BODY joins it."""
    return (
        f'{{"specversion":"1.0","id":"{uuid.uuid4()}","source":"/minzheng/registry","type":"{type}",'
        f'"subject":"s","time":"2026-11-29T10:00:00+00:00","datacontenttype":"application/json",'
        f'"data":{json.dumps(data)}}}'
    ).encode()


def _record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, 0, 0, 0, 0, b"k", value, None, 1, len(value), headers or [])


def test_the_relays_layout_is_judged_by_its_type_and_anything_else_is_read_in_full() -> None:
    relay_ignored = _record(_relay_body("registry.person.died", {"unfit": True}))
    relay_handled = _record(_relay_body("registry.person.milestone", MILESTONE))
    # The same bytes in binary mode: the type is the header's, so the value's look-alike prefix decides nothing.
    binary = _record(
        _relay_body("registry.person.died", {}),
        [("ce_specversion", b"1.0"), ("ce_id", b"b-1"), ("ce_source", b"/p"), ("ce_type", b"registry.person.vanished")],
    )
    # Another order of the same members: read in full, and still skipped for its type.
    other_order = json.loads(_relay_body("registry.person.died", {}))
    reordered = _record(json.dumps(dict(reversed(other_order.items()))).encode())
    # An escaped quote in the source: not the relay's layout, so the type read is the envelope's own.
    forged = _record(
        b'{"specversion":"1.0","id":"' + str(uuid.uuid4()).encode() + b'","source":"/minzheng/x\\",\\"type\\":'
        b'\\"registry.person.died","type":"registry.person.vanished","data":{}}'
    )
    results = read_events([relay_ignored, relay_handled, binary, reordered, forged], TOPIC, IGNORED)
    assert results[0] is None and results[3] is None
    assert isinstance(results[1], ReceivedEvent) and results[1].payload.age == 80
    assert "unknown event type 'registry.person.vanished'" in str(results[2])
    assert "unknown event type 'registry.person.vanished'" in str(results[4])
