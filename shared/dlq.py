"""The dead-letter topics for operators: see what failed and why, and replay it once the cause is fixed.

`minzheng dlq list` shows, per dead-letter topic, each message's place, where
it came from, which consumer gave up on it, why, and its event id and type:
never its data, which carries personal details. `minzheng dlq replay`
publishes chosen messages again to their original topic, unchanged (value,
key, the original headers without the `dlq-*` ones), so the event keeps its
id: every consumer that already applied it skips it through
`processed_events`, and a replayed event has one effect however often it is
replayed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from shared.identity import mask_text
from shared.kafka import DLQ_HEADER_PREFIX, DLQ_SUFFIX, TOPICS, dlq, make_producer
from shared.settings import Settings
from shared.settings import load as load_settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message on a dead-letter topic, described without its data."""

    record: ConsumerRecord
    origin: str  # the topic it was consumed from
    consumer: str
    kind: str  # malformed, invalid, refused, failed
    attempts: str
    error: str
    event_id: str | None
    event_type: str | None

    @property
    def position(self) -> str:
        """How `replay --offset` names it: the offset (a dead-letter topic has one partition)."""
        r = self.record
        return str(r.offset) if r.partition == 0 else f"{r.partition}:{r.offset}"

    def line(self) -> str:
        h = _headers(self.record)
        source = f"{self.origin}/{h.get('dlq-original-partition', '?')}@{h.get('dlq-original-offset', '?')}"
        error = mask_text(self.error.splitlines()[0] if self.error else "")[:160]
        return (
            f"  {self.position:>6}  from {source}  consumer {self.consumer}  {self.kind} (attempts {self.attempts})"
            f"  event {self.event_id or '-'}  type {self.event_type or '-'}\n          error: {error}"
        )


def describe(record: ConsumerRecord) -> DeadLetter:
    h = _headers(record)
    event_id, event_type = h.get("dlq-event-id"), h.get("dlq-event-type")
    if event_id is None or event_type is None:
        raw_id, raw_type = _identity(record)
        event_id, event_type = event_id or raw_id, event_type or raw_type
    return DeadLetter(
        record=record,
        origin=original_topic(record.topic),
        consumer=h.get("dlq-consumer", "?"),
        kind=h.get("dlq-kind", "?"),
        attempts=h.get("dlq-attempts", "?"),
        error=h.get("dlq-error", ""),
        event_id=event_id,
        event_type=event_type,
    )


def original_topic(dead_letter_topic: str) -> str:
    """The topic a dead-letter topic belongs to: replays go there and nowhere else."""
    if not dead_letter_topic.endswith(DLQ_SUFFIX):
        raise ValueError(f"{dead_letter_topic} is not a dead-letter topic")
    return dead_letter_topic.removesuffix(DLQ_SUFFIX)


def replay_headers(record: ConsumerRecord) -> list[tuple[str, bytes]]:
    """The message's headers as they were before it was dead-lettered."""
    return [(k, v) for k, v in (record.headers or []) if not k.startswith(DLQ_HEADER_PREFIX)]


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every message on `topic` now, from the beginning, without joining a group or committing anything."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"minzheng-dlq-{uuid.uuid4().hex[:6]}",
    )
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        got: list[ConsumerRecord] = []
        while not all([await consumer.position(tp) >= end for tp, end in ends.items()]):
            for records in (await consumer.getmany(*tps, timeout_ms=500)).values():
                got.extend(records)
        return got
    finally:
        await consumer.stop()


async def list_dead_letters(settings: Settings, topics: list[str]) -> dict[str, list[DeadLetter]]:
    """Dead-letter topic → its messages, described."""
    return {t: [describe(r) for r in await read_topic(settings.kafka_bootstrap_servers, t)] for t in topics}


async def replay(settings: Settings, topic: str, positions: set[str] | None) -> list[DeadLetter]:
    """Publish the chosen messages of a dead-letter topic (all when `positions` is None) to their original topic.

    Positions that name no message are an error, and nothing is sent.
    """
    letters = [describe(r) for r in await read_topic(settings.kafka_bootstrap_servers, topic)]
    chosen = letters if positions is None else [d for d in letters if d.position in positions]
    unknown = (positions or set()) - {d.position for d in chosen}
    if unknown:
        raise ValueError(f"no message at {', '.join(sorted(unknown))} on {topic}")
    producer = make_producer(settings)
    try:
        await producer.start()
        for d in chosen:  # one at a time, in order: a person's events keep their order
            await producer.send_and_wait(d.origin, d.record.value, key=d.record.key, headers=replay_headers(d.record))
    finally:
        await producer.stop()
    return chosen


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode("utf-8", errors="replace") for k, v in (record.headers or []) if v is not None}


def _identity(record: ConsumerRecord) -> tuple[str | None, str | None]:
    """Event id and type read from the message itself, when the consumer could not (a malformed message)."""
    h = {k.lower(): v for k, v in _headers(record).items()}
    if "ce_id" in h or "ce_type" in h:
        return h.get("ce_id"), h.get("ce_type")
    try:
        raw = json.loads(record.value or b"")
    except ValueError:
        return None, None
    if not isinstance(raw, dict):
        return None, None
    return (
        raw["id"][:100] if isinstance(raw.get("id"), str) else None,
        raw["type"][:100] if isinstance(raw.get("type"), str) else None,
    )


def _dead_letter_topic(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else dlq(topic)


# -- the command -------------------------------------------------------------------


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run the command's work; a broker that does not answer is a message and exit status 1, not a traceback."""
    try:
        return asyncio.run(work)
    except KafkaError as exc:
        typer.echo(f"the broker did not answer ({type(exc).__name__}); is KAFKA_BOOTSTRAP_SERVERS right?", err=True)
        raise typer.Exit(1) from exc


dlq_app = typer.Typer(
    help="Dead-letter topics: what failed and why; replay it once the cause is fixed.", no_args_is_help=True
)


@dlq_app.command("list")
def list_command(
    topic: Annotated[
        str | None, typer.Option(help="one topic (the dead-letter topic or the one it belongs to); default: all")
    ] = None,
) -> None:
    """Show each dead-letter topic's messages: where from, which consumer, why, event id and type (no personal data)."""
    topics = [_dead_letter_topic(topic)] if topic else [dlq(t) for t in TOPICS]
    found = _run(list_dead_letters(load_settings("registry"), topics))
    for name, letters in found.items():
        typer.echo(f"{name}: {len(letters)} message(s)")
        for d in letters:
            typer.echo(d.line())


@dlq_app.command("replay")
def replay_command(
    topic: Annotated[str, typer.Option(help="the dead-letter topic (or the topic it belongs to)")],
    offset: Annotated[
        list[str] | None, typer.Option(help="a message to replay, as `list` shows it (repeatable)")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="replay every message of the topic")] = False,
) -> None:
    """Publish chosen messages again to their original topic, unchanged: each event still has one effect."""
    if bool(offset) == all_:
        raise typer.BadParameter("give --offset (one or more) or --all")
    try:
        sent = _run(replay(load_settings("registry"), _dead_letter_topic(topic), None if all_ else set(offset or [])))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    dead = _dead_letter_topic(topic)
    typer.echo(f"replayed {len(sent)} message(s) from {dead} to {original_topic(dead)}")
