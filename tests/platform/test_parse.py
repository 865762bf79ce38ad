"""parse_message and typed: whatever the bytes, an event or MalformedEvent, never anything else.

The CloudEvents SDK fills in a missing `id` (a new UUID on every read) and
`time`: these tests pin that presence is judged from the message itself.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import InvalidPayload, MalformedEvent, parse_message, typed

DEATH = {
    "id_number": "340207194005011238",
    "date_of_death": "2026-11-20",
    "source": "hospital",
    "reference": "H-1",
}


def _structured(**attributes: object) -> bytes:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/p", "type": "partner.death.reported"}
    event.update(attributes)
    return json.dumps({k: v for k, v in event.items() if v is not None}).encode()


def _binary(**attributes: bytes | None) -> list[tuple[str, bytes]]:
    headers = {"ce_specversion": b"1.0", "ce_id": b"e-1", "ce_source": b"/p", "ce_type": b"partner.death.reported"}
    headers.update(attributes)  # type: ignore[arg-type]
    return [(k, v) for k, v in headers.items() if v is not None]


@pytest.mark.parametrize("missing", ["id", "type", "source", "specversion"])
def test_a_structured_event_without_a_required_attribute_is_malformed(missing: str) -> None:
    with pytest.raises(MalformedEvent, match=missing):
        parse_message(_structured(**{missing: None}, data=DEATH), b"k", [])


@pytest.mark.parametrize("missing", ["ce_id", "ce_type", "ce_source"])
def test_a_binary_event_without_a_required_header_is_malformed(missing: str) -> None:
    with pytest.raises(MalformedEvent, match=missing.removeprefix("ce_")):
        parse_message(json.dumps(DEATH).encode(), b"k", _binary(**{missing: None}))


@pytest.mark.parametrize("value", ["", "   ", 7, None])
def test_an_empty_or_non_string_id_is_malformed(value: object) -> None:
    raw = json.loads(_structured(data=DEATH))
    raw["id"] = value
    with pytest.raises(MalformedEvent, match="'id'"):
        parse_message(json.dumps(raw).encode(), b"k", [])


def test_the_id_and_time_are_the_message_s_own() -> None:
    event = parse_message(_structured(id="e-42", data=DEATH), b"k", [])
    assert event.id == "e-42" and event.time is None  # nothing invented
    again = parse_message(_structured(id="e-42", data=DEATH), b"k", [])
    assert again.id == event.id


def test_a_key_that_is_not_utf8_is_no_fault() -> None:
    event = parse_message(_structured(data=DEATH), b"\xff\xfe\x80", [])
    assert event.key == "\ufffd\ufffd\ufffd"
    assert parse_message(_structured(data=DEATH), None, []).key is None


def test_binary_mode_with_headers_that_are_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedEvent):
        parse_message(json.dumps(DEATH).encode(), b"k", _binary(ce_id=b"\xff\xfe"))


@pytest.mark.parametrize(
    "value",
    [b"", b"\xff\xfe", b"not json", b"[1, 2]", b"null", b'"a string"', _structured(data=[1]), _structured(time="noon")],
)
def test_what_is_not_a_cloudevent_is_malformed(value: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_message(value, b"k", [])


def test_typed_refuses_unknown_types_wrong_topics_and_unfit_data() -> None:
    good = parse_message(_structured(data=DEATH), b"k", [])
    assert typed(good, "partner.deaths.v1").payload.date_of_death == date(2026, 11, 20)
    with pytest.raises(InvalidPayload, match="unknown event type"):
        typed(parse_message(_structured(type="partner.death.reportd", data=DEATH), b"k", []), "partner.deaths.v1")
    with pytest.raises(InvalidPayload, match="does not belong on"):
        typed(good, "partner.hukou.v1")
    with pytest.raises(InvalidPayload, match="date_of_death"):
        typed(parse_message(_structured(data={**DEATH, "date_of_death": "soon"}), b"k", []), "partner.deaths.v1")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_envelopes = st.fixed_dictionaries(
    {},
    optional={
        name: _json | st.just("1.0") | st.text(min_size=1, max_size=10)
        for name in ("specversion", "id", "type", "source", "subject", "time", "datacontenttype", "data", "data_base64")
    },
).map(lambda d: json.dumps(d).encode())


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), _envelopes),
    key=st.one_of(st.none(), st.binary(max_size=20)),
    headers=st.lists(
        st.tuples(st.sampled_from(["ce_specversion", "ce_id", "ce_type", "ce_source", "x"]), st.binary(max_size=20)),
        max_size=5,
    ),
)
def test_any_bytes_give_an_event_or_malformed_never_another_error(
    value: bytes, key: bytes | None, headers: list
) -> None:
    try:
        event = parse_message(value, key, headers)
    except MalformedEvent:
        return
    assert event.id and event.type and event.source
