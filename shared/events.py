"""CloudEvents 1.0 envelope (structured JSON mode), the outbox writer, and incoming-event parsing.

Producers write structured mode; consumers accept structured and binary
(`ce_*` headers) mode alike, as CONTRACT.md promises partners. Parsing and
building go through the CloudEvents SDK so the envelope is checked against
the spec, not against our reading of it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import orjson
from cloudevents.v1.http import CloudEvent
from cloudevents.v1.kafka import KafkaMessage, from_binary, from_structured
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import tracing
from shared.db import new_id
from shared.event_types import CATALOGUE, SPEC_OF_MODEL, EventSpec
from shared.ordered_ids import statement_row_id

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"


class MalformedEvent(ValueError):
    """The message is not a CloudEvent we can read; it goes to the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    key: str | None
    traceparent: str | None = None
    # The catalogue's model for `type`, validated from `data` (set by `typed()`).
    payload: Any = None


def envelope(
    *,
    service: str,
    type: str,
    subject: str,
    data: BaseModel | dict[str, Any],
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """Build a CloudEvent as the dict that is its structured-mode JSON."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    attributes = {
        "specversion": "1.0",
        "id": str(event_id or uuid.uuid4()),
        "source": f"/minzheng/{service}",
        "type": type,
        "subject": subject,
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
    }
    CloudEvent.create(attributes, payload)  # validates the attributes against the spec
    return {**attributes, "data": payload}


# The outbox's columns, in the order of every writer's SELECT: `publish_many` (payloads built in Python) and
# `OutboxInsert` (events assembled by PostgreSQL) are the two forms of the one writer, and this is the only
# place that names them. A row holds the event's data and the attributes that vary; the table computes the
# envelope from them when it is read (the same attributes `envelope()` builds; see shared/outbox_schema.py),
# so no envelope is stored. `time` and `headers` are the statement's (bound as :outbox_time, :outbox_headers);
# `subject` is NULL when it is the key (most types): the envelope reads coalesce(subject, key).
OUTBOX_COLUMNS = "id, topic, key, type, subject, time, data, headers"
_SHARED_VALUES = "CAST(:outbox_time AS text)", "CAST(:outbox_headers AS jsonb)"

# One statement for any number of rows, bound as ONE parameter: a JSON array of the rows, each the array of its
# columns (`_outbox_row`; orjson writes it, each row's `data` the payload's JSON as pydantic wrote it, embedded as
# is). The elements are read in order, so the outbox's `seq` (the relay's order) follows the order of the payloads;
# a `data` member is already jsonb, the same value its text cast gave. One text parameter instead of six arrays:
# asyncpg checks every element of an array parameter against Python's ABCs (some eleven checks an event). Rows as
# arrays, not objects: PostgreSQL then builds no object per row (jsonb_to_recordset's objects cost its backend some
# 3 us a row more than these arrays). The same statement wakes the relay at commit (NOTIFY is delivered on commit,
# and PostgreSQL folds repeats within a transaction into one), saving a round trip.
_ROWS = "jsonb_array_elements(CAST(:outbox_rows AS jsonb)) WITH ORDINALITY AS u(r, n)"
_ROW_VALUES = f"(u.r->>0)::uuid, u.r->>1, u.r->>2, u.r->>3, u.r->>4, {_SHARED_VALUES[0]}, u.r->5, {_SHARED_VALUES[1]}"
_INSERT_OUTBOX = text(
    f"""
    WITH written AS (
    INSERT INTO outbox ({OUTBOX_COLUMNS})
    SELECT {_ROW_VALUES}
    FROM {_ROWS}
    ORDER BY u.n
    RETURNING 1
    )
    SELECT pg_notify('outbox', '') WHERE EXISTS (SELECT FROM written)
    """  # noqa: S608 - constants of this module
)


def outbox_cte(when: str) -> str:
    """`publish_many`'s INSERT as the body of a CTE in a write's own statement, written only `when` (SQL) holds.

    A write whose events are known before it runs (every field given or computed in Python) carries them in its
    statement, saving the round trip of a second INSERT; `when` (say `EXISTS (SELECT FROM written_row)`) makes
    them conditional on the write having happened as the payloads say. Bind `outbox_params(payloads)`.
    Data-modifying CTEs always run, so the relay's wake-up rides on the rows written (PostgreSQL folds the
    repeats into one notification).
    """
    return f"""
    INSERT INTO outbox ({OUTBOX_COLUMNS})
    SELECT {_ROW_VALUES}
    FROM {_ROWS}
    WHERE {when}
    ORDER BY u.n
    RETURNING pg_notify('outbox', '')
    """  # noqa: S608 - constants of this module and the caller's condition


def outbox_params(payloads: Sequence[BaseModel]) -> dict[str, str]:
    """The bound parameters of `outbox_cte`: the payloads' outbox rows, in order, checked against the catalogue."""
    return _rows_params([_outbox_row(payload) for payload in payloads])


async def publish(session: AsyncSession, payload: BaseModel) -> uuid.UUID:
    """Write one event to the outbox in the caller's transaction; the relay publishes it.

    The payload's model names the event type; the catalogue gives its topic,
    key and subject. The event id is the outbox row's id, so a retried publish
    keeps its id and consumers can drop the duplicate.
    """
    (event_id,) = await publish_many(session, [payload])
    return event_id


async def publish_many(session: AsyncSession, payloads: Sequence[BaseModel]) -> list[uuid.UUID]:
    """Write many events to the outbox in one INSERT, in order (the one outbox writer, for Python payloads)."""
    if not payloads:
        return []
    rows = [_outbox_row(payload) for payload in payloads]
    await session.execute(_INSERT_OUTBOX, _rows_params(rows))
    return [r[0] for r in rows]


def _rows_params(rows: list[list[Any]]) -> dict[str, str]:
    """The bound parameters of the outbox rows' statement: the rows as one JSON document, the shared values."""
    return {"outbox_rows": orjson.dumps(rows).decode(), **_statement_values()}


def _statement_values() -> dict[str, str]:
    """The attributes every event of one statement shares: its time and the trace context it was written in."""
    return {"outbox_time": datetime.now(UTC).isoformat(), "outbox_headers": json.dumps(tracing.inject_headers())}


class _Writer(NamedTuple):
    """What the catalogue says of one payload model, looked up and checked once per model (not per event)."""

    topic: str
    type: str
    key_field: str
    subject_field: str


@functools.cache
def _writer(model: type[BaseModel]) -> _Writer:
    """The catalogue's entry for a payload model, if Minzheng publishes its events (TypeError otherwise)."""
    spec = SPEC_OF_MODEL.get(model)
    if spec is None:
        raise TypeError(f"{model.__name__} is not the payload model of any event type in the catalogue")
    if spec.key_field is None or spec.subject_field is None:
        raise TypeError(f"{spec.type} is a partner event: partners publish it, Minzheng does not")
    _checked_source(spec.service, spec.type)  # the envelope the table computes for this type is a valid CloudEvent
    return _Writer(spec.topic, spec.type, spec.key_field, spec.subject_field)


def _outbox_row(payload: BaseModel) -> list[Any]:
    """The outbox row of a payload as `_INSERT_OUTBOX` reads it: [id, topic, key, type, subject, data].

    Type, topic, key and subject come from the catalogue; the subject is None where it is the key (stored
    once); the data is the payload's JSON, written once by pydantic and embedded as is.
    """
    writer = _writer(type(payload))
    key = _text(getattr(payload, writer.key_field))
    subject = None if writer.subject_field == writer.key_field else _text(getattr(payload, writer.subject_field))
    return [
        new_id(),
        writer.topic,
        key,
        writer.type,
        None if subject == key else subject,
        orjson.Fragment(payload.model_dump_json()),
    ]


def _text(value: object) -> object:
    """A key or subject as the row's JSON carries it: a UUID left to orjson, which writes the text str() gives
    without uuid's Python-level __str__ (a microsecond and more an event); anything else as str()."""
    return value if type(value) is uuid.UUID else str(value)


@functools.cache
def _checked_source(service: str, type: str) -> str:
    """The source of the service's events, its attributes checked by the SDK once per type (not per event)."""
    return str(envelope(service=service, type=type, subject="-", data={})["source"])


class UnpublishableEvents(ValueError):
    """An `OutboxInsert` was asked for events the catalogue does not let it write (refused before any SQL runs)."""


@dataclass(frozen=True, slots=True)
class OutboxInsert:
    """Events assembled by PostgreSQL, one per row of `source`: the SQL form of `publish_many`.

    A discovery enrols 200,000 people at once and a payroll pays as many:
    their events are not built as Python objects one by one but written by
    the statement that decides them (`... RETURNING` into a CTE, then this
    INSERT ... SELECT over it). Every expression reads the row as `s`:

    - `source`: a FROM item without alias (a CTE's name, a parenthesized subquery);
    - `data`: the event's data, a JSON object with exactly the fields of the type's model;
    - `key` / `subject`: the SQL giving the Kafka key and the CloudEvent subject, and `key_field` /
      `subject_field` the data fields they are: `params()` refuses a type the catalogue keys otherwise;
    - `event_id`: the row's id (say a payment's, so a consumer that saw the event saw the payment); by
      default ids numbered after one time-ordered prefix per execution (shared/ordered_ids.py);
    - `type_column`: the SQL of each row's type, when one statement writes several types (one topic, one key);
      by default the single type bound by `params()`;
    - `order_by`: the order the rows are written in (the outbox's `seq`, the relay's order), when it matters.

    The caller runs `sql()` with `params(type)` merged in, then `notify_relay` (or a `pg_notify` of its own).
    """

    source: str
    data: str
    key_field: str = "person_id"
    key: str = "s.person_id"
    subject_field: str | None = None  # the key's field, as the catalogue assumes when a type names none
    subject: str | None = None  # the key's SQL
    event_id: str | None = None
    type_column: str | None = None
    order_by: str = ""

    def sql(self) -> str:
        """The INSERT INTO outbox ... SELECT (no RETURNING: a caller counting the events adds its own)."""
        event_id = self.event_id or statement_row_id(self.order_by)
        event_type = self.type_column or "CAST(:outbox_type AS text)"
        order = f"\n    ORDER BY {self.order_by}" if self.order_by else ""
        return f"""
    INSERT INTO outbox ({OUTBOX_COLUMNS})
    SELECT {event_id}, CAST(:outbox_topic AS text), ({self.key})::text, {event_type}, {self._stored_subject()},
        {_SHARED_VALUES[0]}, {self.data}, {_SHARED_VALUES[1]}
    FROM {self.source} s{order}
    """  # noqa: S608 - every fragment is a constant of the caller

    def _stored_subject(self) -> str:
        """The SQL of the stored subject: NULL where it is the key (stored once, as the key)."""
        if self.subject is None or self.subject == self.key:
            return "CAST(NULL AS text)"
        return f"NULLIF(({self.subject})::text, ({self.key})::text)"

    def params(self, *types: str) -> dict[str, str]:
        """The bound parameters of `sql()` for events of `types`, each checked against the catalogue.

        Unknown types, partner types, types keyed or subjected by another field than the SQL gives, types
        of several topics, or several types without a `type_column` raise UnpublishableEvents.
        """
        specs = [self._spec(t) for t in types]
        topics = {spec.topic for spec in specs}
        if len(topics) != 1:
            raise UnpublishableEvents(f"one statement writes events of one topic, not {sorted(topics) or 'none'}")
        if self.type_column is None and len(specs) != 1:
            raise UnpublishableEvents("several types need a type_column giving each row's type")
        single = {"outbox_type": specs[0].type} if self.type_column is None else {}
        return {"outbox_topic": specs[0].topic, **single, **_statement_values()}

    def _spec(self, type: str) -> EventSpec:
        """The catalogue's entry for `type`, if this statement can write its events."""
        spec = CATALOGUE.get(type)
        if spec is None:
            raise UnpublishableEvents(f"unknown event type {type!r}")
        if spec.key_field is None:
            raise UnpublishableEvents(f"{type} is a partner event: partners publish it, Minzheng does not")
        subject_field = self.subject_field or self.key_field
        if (spec.key_field, spec.subject_field) != (self.key_field, subject_field):
            raise UnpublishableEvents(
                f"{type} is keyed by {spec.key_field} with subject {spec.subject_field}; "
                f"the statement gives {self.key_field} and {subject_field}"
            )
        _checked_source(spec.service, spec.type)  # the envelope the table computes for this type is a valid CloudEvent
        return spec


async def notify_relay(session: AsyncSession) -> None:
    """Wake the relay at commit (PostgreSQL delivers NOTIFY on commit), for outbox rows written by `OutboxInsert`.

    Once per transaction is enough; were it lost with a rolled-back savepoint,
    the relay's poll still finds the rows within OUTBOX_POLL_SECONDS.
    """
    transaction = session.sync_session.get_transaction()
    if session.info.get("outbox_notified") is not transaction:
        await session.execute(text("SELECT pg_notify('outbox', '')"))
        session.info["outbox_notified"] = transaction


class InvalidPayload(MalformedEvent):
    """The event is a CloudEvent, but its type or data does not fit the catalogue."""


class Message(Protocol):
    """What reading needs of a Kafka message (aiokafka's ConsumerRecord has it)."""

    @property
    def value(self) -> bytes | None: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]] | None: ...


def typed(event: ReceivedEvent, topic: str) -> ReceivedEvent:
    """The event with `payload` validated against the catalogue's model for its type.

    An unknown type, a type that does not belong on `topic`, or data that does
    not fit the model raises InvalidPayload: the message goes to the dead-letter
    topic at once (retrying cannot make it fit).
    """
    return dataclasses.replace(event, payload=_payload(event.type, event.data, topic))


def _payload(type: str, data: dict[str, Any], topic: str) -> BaseModel:
    """`data` validated against the catalogue's model for `type` on `topic`; InvalidPayload otherwise."""
    spec = _spec_on(type, topic)
    try:
        return spec.model.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidPayload(f"data does not fit {spec.model.__name__}: {errors}") from exc


def _spec_on(type: str, topic: str) -> EventSpec:
    """The catalogue's entry for `type`, which must belong on `topic`; InvalidPayload otherwise."""
    spec = CATALOGUE.get(type)
    if spec is None:
        raise InvalidPayload(f"unknown event type {type[:100]!r}")
    if spec.topic != topic:
        raise InvalidPayload(f"event type {type!r} does not belong on {topic} (its topic is {spec.topic})")
    return spec


def read_event(
    value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]] | None, topic: str
) -> ReceivedEvent:
    """A Kafka message as an event whose data fits the catalogue's model: `typed(parse_message(...))` in one pass.

    Anything wrong raises MalformedEvent.
    """
    decoded = _decode(value, key, headers, frozenset())
    assert decoded is not None  # nothing is ignored
    return decoded.event(_payload(decoded.type, decoded.data, topic))


def read_events(
    messages: Sequence[Message], topic: str, ignore: AbstractSet[str] = frozenset()
) -> list[ReceivedEvent | MalformedEvent | None]:
    """The messages of one topic as events, in order: the consumer's hot path.

    Entry i is message i as an event whose payload fits the catalogue, the
    MalformedEvent (or InvalidPayload) it raised, or None when its type is in
    `ignore` (catalogue types the consumer has no handler for): that is judged
    from the `ce_type` header or the envelope's `type` before the data is read,
    validated or recorded, so a consumer pays next to nothing for the events of
    its topics that are not for it. Payloads are validated a type at a time, one
    pydantic call per type and chunk; only a group that fails is validated again
    event by event, so each bad one gets its own reason.
    """
    out: list[ReceivedEvent | MalformedEvent | None] = [None] * len(messages)
    groups: dict[str, list[tuple[int, _Decoded]]] = {}
    for i, message in enumerate(messages):
        if ignore and _relay_type(message.value, message.headers) in ignore:
            continue
        try:
            decoded = _decode(message.value, message.key, message.headers, ignore)
        except MalformedEvent as exc:
            out[i] = exc
            continue
        if decoded is not None:
            groups.setdefault(decoded.type, []).append((i, decoded))
    for type, group in groups.items():
        for (i, decoded), payload in zip(group, _validate_all(type, [d.data for _, d in group], topic), strict=True):
            out[i] = payload if isinstance(payload, MalformedEvent) else decoded.event(payload)
    return out


def _validate_all(
    type: str, data: list[dict[str, Any]], topic: str
) -> list[BaseModel] | list[BaseModel | InvalidPayload]:
    """The payloads of one type in one pydantic call; if any does not fit, each alone (the bad ones' reasons)."""
    try:
        return _list_of(_spec_on(type, topic).model).validate_python(data)
    except (InvalidPayload, ValidationError):
        return [_payload_or_error(type, d, topic) for d in data]


def _payload_or_error(type: str, data: dict[str, Any], topic: str) -> BaseModel | InvalidPayload:
    try:
        return _payload(type, data, topic)
    except InvalidPayload as exc:
        return exc


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[BaseModel]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


class _Decoded(NamedTuple):
    """A message's CloudEvent attributes and data, checked but not validated against the catalogue yet.

    A tuple, not a frozen dataclass: it is built for every message, and a frozen
    dataclass sets each field through `object.__setattr__`.
    """

    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    key: str | None
    traceparent: str | None

    def event(self, payload: BaseModel | None) -> ReceivedEvent:
        return ReceivedEvent(
            self.id, self.type, self.source, self.subject, self.time, self.data, self.key, self.traceparent, payload
        )


# The start of a structured-mode event as the outbox relay joins it (shared/outbox.py BODY): the envelope's
# attributes in a fixed order, `type` the fourth, each written by PostgreSQL's to_json. The data comes after them
# as one nested member, so a body the relay wrote has no other top-level `type`.
_RELAY_PREFIX = re.compile(
    rb'\{"specversion":"1\.0","id":"[0-9a-f-]{36}","source":"/minzheng/[a-z]+","type":"([a-z0-9._-]{1,200})",'
)


def _relay_type(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The type of a message the relay wrote, read from its first bytes; None for any other message.

    Assistance reads some 34,000 messages of types it has no handler for per
    10,000 deaths: judged here, such a message costs one anchored match instead
    of decoding the whole envelope and its headers. A binary-mode message
    (a `ce_specversion` header, whose type is the `ce_type` header) and anything
    not laid out as the relay lays it out go the full way through `_decode`.
    As before, a skipped message is not checked further: the consumers that
    handle its type read it in full and dead-letter it if it is bad.
    """
    if not value or value[:1] != b"{":
        return None
    match = _RELAY_PREFIX.match(value)
    if match is None:
        return None
    for name, _ in headers or ():
        if name.lower() == "ce_specversion":
            return None
    return match.group(1).decode()


def _headers(raw: Sequence[tuple[str, bytes]] | None) -> dict[str, bytes]:
    return {k: v for k, v in (raw or ()) if v is not None}


def _raw_attributes(value: bytes, lowered: dict[str, bytes], binary: bool) -> dict[str, Any]:
    """The CloudEvent attributes as the message carries them, before the SDK fills any in.

    The SDK invents an `id` (a fresh UUID on every read, which would defeat
    deduplication) and a `time` when they are missing, so presence is judged here.
    """
    if binary:
        try:
            return {name[3:]: v.decode("utf-8") for name, v in lowered.items() if name.startswith("ce_")}
        except UnicodeDecodeError as exc:
            raise MalformedEvent("a ce_ header is not UTF-8") from exc
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as exc:  # also text that is not UTF-8
        raise MalformedEvent("not a CloudEvent: the value is not JSON") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent("not a CloudEvent: the value is not a JSON object")
    return raw


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEvent("time is not an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent("time is not an RFC 3339 timestamp") from exc


def message_key(key: bytes | str | None) -> str | None:
    """A Kafka key as text. Keys are opaque bytes: bytes that are not UTF-8 never fail."""
    return key.decode("utf-8", errors="replace") if isinstance(key, bytes) else key


def parse_message(value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]] | None) -> ReceivedEvent:
    """Read a Kafka message as a CloudEvent, structured or binary mode.

    Anything wrong with the message raises MalformedEvent (its reason goes to
    the dead-letter topic); nothing else escapes, whatever the bytes.
    """
    decoded = _decode(value, key, headers, frozenset())
    assert decoded is not None  # nothing is ignored
    return decoded.event(None)


def _decode(
    value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]] | None, ignore: AbstractSet[str]
) -> _Decoded | None:
    """The message's attributes and data, checked as a CloudEvent; None if its type is one to `ignore`.

    The type is looked at first (a binary-mode header, or the envelope's member
    once decoded), so an ignored message costs a header lookup or one JSON decode.
    A message whose type is missing or garbled is never ignored: it is read in
    full and refused with its reason.
    """
    if not value:
        raise MalformedEvent("empty message")
    hdrs = _headers(headers)
    lowered = {k.lower(): v for k, v in hdrs.items()} if hdrs else hdrs
    binary = "ce_specversion" in lowered
    if binary and ignore and lowered.get("ce_type", b"").decode("utf-8", errors="replace") in ignore:
        return None
    raw = _raw_attributes(value, lowered, binary)
    if not binary and ignore and isinstance(raw.get("type"), str) and raw["type"] in ignore:
        return None
    if raw.get("specversion") != "1.0":
        raise MalformedEvent("CloudEvent attribute 'specversion' is missing or not 1.0")
    for required in ("id", "type", "source"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise MalformedEvent(f"CloudEvent attribute {required!r} is missing")
    if binary or "data_base64" in raw:
        data = _data_through_sdk(KafkaMessage(headers=hdrs, key=key, value=value), binary)
    else:
        data = _structured_data(raw, hdrs)
    subject = raw.get("subject")
    tp = lowered.get("traceparent")
    return _Decoded(
        id=raw["id"],
        type=raw["type"],
        source=raw["source"],
        subject=subject if isinstance(subject, str) else None,
        time=_time(raw.get("time")),
        data=data,
        key=message_key(key),
        traceparent=tp.decode("utf-8", errors="replace") if isinstance(tp, bytes) else None,
    )


def _structured_data(raw: dict[str, Any], headers: dict[str, bytes]) -> dict[str, Any]:
    """The data of a structured-mode event whose envelope is already decoded (the usual case: no second decode).

    Judged as the SDK judges it (its attributes were checked above): headers
    must be text, and the data is the `data` member, itself JSON text if a string.
    """
    for v in headers.values():
        try:
            v.decode()
        except UnicodeDecodeError as exc:
            raise MalformedEvent("not a CloudEvent: a header is not UTF-8") from exc
    return _object(raw.get("data"))


def _data_through_sdk(message: KafkaMessage, binary: bool) -> dict[str, Any]:
    """The data of a binary-mode event, or of one carrying `data_base64`, read by the CloudEvents SDK."""
    try:
        event = from_binary(message, data_unmarshaller=orjson.loads) if binary else from_structured(message)
        data = event.get_data()
    except Exception as exc:  # the SDK raises several types; all mean "not a CloudEvent"
        raise MalformedEvent(f"not a CloudEvent: {exc}") from exc
    return _object(data)


def _object(data: Any) -> dict[str, Any]:
    """The event's data as a JSON object: JSON text is decoded, no data is an empty object."""
    if isinstance(data, bytes | str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent("data is not JSON") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MalformedEvent("data must be a JSON object")
    return data
