"""The idempotent consumer runner: each event's effect once, failures to the dead-letter topic.

For every message, in partition order:
1. parse it as a CloudEvent (structured or binary); unreadable → dead-letter at once;
2. in one transaction, insert `(consumer, event id)` into `processed_events`
   (`ON CONFLICT DO NOTHING`: a row already there means a duplicate, skipped)
   and apply the handler's effect; commit (many events share a transaction,
   each in its own savepoint, so throughput is not bound by commit latency);
3. a handler error rolls back and is retried in place a bounded number of
   times (so later events of the same person wait, keeping their order), then
   the message goes to `<topic>.dlq` with the error in its headers;
4. offsets are committed only after the database commit (or the DLQ send).

A crash between the database commit and the offset commit redelivers the
event; the processed-events row turns the redelivery into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import Span, Tracer
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics, tracing
from shared.db import processed_events
from shared.events import MalformedEvent, ReceivedEvent, parse_message, typed
from shared.identity import mask_text
from shared.kafka import dlq, make_consumer, make_producer
from shared.settings import Settings

log = structlog.get_logger("consumer")

Handler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]
# Applies many new events at once, in order; returns {event id: reason} for those it refuses.
BatchHandler = Callable[[AsyncSession, list[ReceivedEvent]], Awaitable[dict[str, str]]]


class _ChunkFailed(Exception):
    """An event failed in a chunk applied without savepoints: the chunk is redone with them."""


class Reject(Exception):
    """A handler's verdict that an event can never be applied (bad payload): no retries."""


@dataclass
class Consumer:
    """A named subscription: which topics, and a handler per event type."""

    name: str
    topics: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handler: BatchHandler | None = None

    def on(self, *types: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for t in types:
                self.handlers[t] = fn
            return fn

        return register

    def batch(self, fn: BatchHandler) -> BatchHandler:
        """Register a handler that takes a whole chunk of events in one call (bulk work).

        The per-event handlers remain the fallback: if the batch handler fails,
        the chunk is applied event by event, with retries and the dead-letter topic.
        """
        self.batch_handler = fn
        return fn


class ConsumerRunner:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        consumer: Consumer,
        group_id: str | None = None,
        tracer: Tracer | None = None,
    ):
        self.settings = settings
        self.tracer = tracer or tracing.tracer()
        self.sessionmaker = sessionmaker
        self.spec = consumer
        self.group_id = group_id or f"{settings.consumer_group}.{consumer.name}"
        self.kafka: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.lag: dict[str, int] = {}
        self.running = False
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.spec.name}")

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the transaction in hand, commit its offsets, leave the group.

        Cancelled after `timeout` (default: the grace period): the database
        rolls back what was not committed, and the uncommitted offsets
        redeliver those events on the next start.
        """
        self._stopping.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=self.settings.shutdown_grace_seconds if timeout is None else max(timeout, 0.1))
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def kill(self) -> None:
        """Stop abruptly, committing nothing more (tests use it to simulate a crash)."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close(commit=False)

    async def _close(self, commit: bool = True) -> None:
        kafka, self.kafka = self.kafka, None
        producer, self.producer = self.producer, None
        if kafka is not None:
            with contextlib.suppress(Exception):
                if not commit:
                    # Leave without the client's final commit: nothing of ours is pending anyway.
                    kafka._enable_auto_commit = False
                await kafka.stop()
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
        self.running = False

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                self.kafka = make_consumer(self.settings, self.spec.topics, self.group_id)
                await self.kafka.start()
                self.running = True
                backoff = 0.5
                await self._loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer error; reconnecting", consumer=self.spec.name, error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await self._close()

    async def _loop(self) -> None:
        assert self.kafka is not None
        while not self._stopping.is_set():
            batches = await self.kafka.getmany(timeout_ms=200, max_records=500)
            # Partitions are independent (a person's events share one), so they are
            # applied side by side, each on its own connection.
            tps = list(batches)
            done = await asyncio.gather(*(self.handle_batch(batches[tp]) for tp in tps))
            # Offsets follow the database: a crash before this line redelivers
            # events whose effects processed_events then skips.
            offsets = {tp: d for tp, d in zip(tps, done, strict=True) if d is not None}
            if offsets:
                await self.kafka.commit(offsets)
            self._update_lag()

    async def handle_batch(self, messages: list[ConsumerRecord]) -> int | None:
        """Apply one partition's messages in order, many per transaction; return the next offset.

        Events are applied in chunks, one transaction each with a savepoint per
        event, so a busy topic costs one commit per chunk, not per event. The
        first event that fails ends its chunk (the ones before it commit); it is
        then retried alone and dead-lettered if it keeps failing, and the rest
        follow, so a person's events keep their order.
        """
        i, done = 0, None
        size = self.settings.consumer_batch_size
        while i < len(messages) and not self._stopping.is_set():
            applied, failed = await self._apply_chunk(messages[i : i + size])
            i += applied
            if applied:
                done = messages[i - 1].offset + 1
            if failed:
                await self.handle(messages[i])
                done = messages[i].offset + 1
                i += 1
        return done

    async def _apply_chunk(self, chunk: list[ConsumerRecord]) -> tuple[int, bool]:
        if self.spec.batch_handler is not None:
            try:
                return await self._apply_chunk_at_once(chunk)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("batch failed; applying its events one by one", consumer=self.spec.name, error=mask_text(str(exc)))
        # Optimistically without savepoints (two round trips fewer per event); if an
        # event fails, the whole chunk rolls back and is applied again with them.
        try:
            return await self._apply_chunk_each(chunk, savepoints=False)
        except _ChunkFailed:
            return await self._apply_chunk_each(chunk, savepoints=True)

    async def _apply_chunk_at_once(self, chunk: list[ConsumerRecord]) -> tuple[int, bool]:
        """The batch handler takes every readable event up to the first unreadable one."""
        events: list[tuple[ConsumerRecord, ReceivedEvent]] = []
        for message in chunk:
            try:
                events.append((message, typed(parse_message(message.value, message.key, message.headers), message.topic)))
            except MalformedEvent:
                break
        failed = len(events) < len(chunk)
        if not events:
            return 0, failed
        assert self.spec.batch_handler is not None
        batch_span = tracing.batch_span(
            self.tracer, topic=chunk[0].topic, group=self.group_id, headers=[dict(m.headers or []) for m, _ in events]
        )
        async with batch_span, self.sessionmaker() as session, session.begin():
            inserted = await session.execute(
                pg_insert(processed_events)
                .values([{"consumer": self.spec.name, "event_id": e.id, "topic": m.topic, "type": e.type} for m, e in events])
                .on_conflict_do_nothing()
                .returning(processed_events.c.event_id)
            )
            fresh_ids = set(inserted.scalars())
            fresh = [e for _, e in events if e.id in fresh_ids]
            refused = await self.spec.batch_handler(session, fresh) if fresh else {}
            # Sent before the commit: if the commit then fails, the chunk comes again
            # and a refused event may reach the dead-letter topic twice, never zero times.
            for message, event in events:
                if event.id in refused:
                    await self._dead_letter(message, refused[event.id], attempts=1)
        for message, event in events:
            result = "duplicate" if event.id not in fresh_ids else "dead_lettered" if event.id in refused else "processed"
            if result != "dead_lettered":  # _dead_letter counted those
                metrics.EVENTS_CONSUMED.labels(self.settings.service, message.topic, result).inc()
        return len(events), failed

    async def _apply_chunk_each(self, chunk: list[ConsumerRecord], *, savepoints: bool) -> tuple[int, bool]:
        """Apply messages in one transaction until one fails; return (how many applied, whether one failed).

        Without savepoints a failing event cannot be cut out of the transaction:
        it raises _ChunkFailed and nothing of the chunk is kept.
        """
        results: list[tuple[str, str]] = []
        failed = False
        async with self.sessionmaker() as session, session.begin():
            for message in chunk:
                try:
                    event = typed(parse_message(message.value, message.key, message.headers), message.topic)
                except MalformedEvent:
                    failed = True  # handle() sends it to the dead-letter topic
                    break
                handler = self.spec.handlers.get(event.type)
                if handler is None:
                    results.append((message.topic, "ignored"))
                    continue
                try:
                    with self._span(message, event):
                        if savepoints:
                            async with session.begin_nested():
                                results.append((message.topic, await self._effect(session, handler, event, message.topic)))
                        else:
                            results.append((message.topic, await self._effect(session, handler, event, message.topic)))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not savepoints:
                        raise _ChunkFailed from exc
                    failed = True
                    break
        for topic, result in results:
            metrics.EVENTS_CONSUMED.labels(self.settings.service, topic, result).inc()
        return len(results), failed

    def _update_lag(self) -> None:
        assert self.kafka is not None
        for tp in self.kafka.assignment():
            high = self.kafka.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(Exception):
                pos = self.kafka._subscription.subscription.assignment.state_value(tp).position  # noqa: SLF001
                lag = max(0, high - (pos or 0))
                self.lag[f"{tp.topic}/{tp.partition}"] = lag
                metrics.CONSUMER_LAG.labels(self.settings.service, tp.topic, str(tp.partition)).set(lag)

    # -- one message -------------------------------------------------------

    async def handle(self, message: ConsumerRecord) -> str:
        topic = message.topic
        try:
            event = typed(parse_message(message.value, message.key, message.headers), message.topic)
        except MalformedEvent as exc:
            await self._dead_letter(message, f"malformed: {exc}", attempts=0)
            return "dead_lettered"
        handler = self.spec.handlers.get(event.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.settings.service, topic, "ignored").inc()
            return "ignored"
        with self._span(message, event) as span:
            attempts = 0
            while True:
                attempts += 1
                try:
                    result = await self._apply(handler, event, topic)
                    metrics.EVENTS_CONSUMED.labels(self.settings.service, topic, result).inc()
                    return result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    metrics.EVENTS_CONSUMED.labels(self.settings.service, topic, "failed").inc()
                    final = isinstance(exc, Reject) or attempts >= self.settings.consumer_max_retries
                    log.warning(
                        "event failed",
                        consumer=self.spec.name,
                        event_id=event.id,
                        type=event.type,
                        attempt=attempts,
                        error=mask_text(str(exc)),
                    )
                    if final:
                        tracing.mark_error(span, exc)
                        detail = "".join(traceback.format_exception_only(exc)).strip()
                        await self._dead_letter(message, detail, attempts=attempts)
                        return "dead_lettered"
                    await asyncio.sleep(self.settings.consumer_retry_backoff_seconds * 2 ** (attempts - 1))

    def _span(self, message: ConsumerRecord, event: ReceivedEvent) -> AbstractContextManager[Span]:
        """The consumer span of one event, continuing the producer's trace from the message headers."""
        return tracing.consumer_span(
            self.tracer,
            topic=message.topic,
            group=self.group_id,
            event_id=event.id,
            event_type=event.type,
            partition=message.partition,
            offset=message.offset,
            headers=dict(message.headers or []),
        )

    async def _apply(self, handler: Handler, event: ReceivedEvent, topic: str) -> str:
        async with self.sessionmaker() as session, session.begin():
            return await self._effect(session, handler, event, topic)

    async def _effect(self, session: AsyncSession, handler: Handler, event: ReceivedEvent, topic: str) -> str:
        """Record the event as processed and apply it, unless it was processed before."""
        inserted = await session.execute(
            pg_insert(processed_events)
            .values(consumer=self.spec.name, event_id=event.id, topic=topic, type=event.type)
            .on_conflict_do_nothing()
            .returning(processed_events.c.event_id)
        )
        if inserted.first() is None:
            return "duplicate"
        await handler(session, event)
        return "processed"

    async def _dead_letter(self, message: ConsumerRecord, error: str, attempts: int) -> None:
        if self.producer is None:
            self.producer = make_producer(self.settings)
            await self.producer.start()
        headers = list(message.headers or [])
        headers += [
            ("dlq-error", mask_text(error)[:2000].encode()),
            ("dlq-consumer", self.spec.name.encode()),
            ("dlq-original-topic", message.topic.encode()),
            ("dlq-original-partition", str(message.partition).encode()),
            ("dlq-original-offset", str(message.offset).encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        await self.producer.send_and_wait(dlq(message.topic), message.value, key=message.key, headers=headers)
        metrics.EVENTS_CONSUMED.labels(self.settings.service, message.topic, "dead_lettered").inc()
        log.error("event dead-lettered", consumer=self.spec.name, topic=message.topic, offset=message.offset, error=mask_text(error)[:500])


def partition_of(tp: TopicPartition) -> str:
    return f"{tp.topic}/{tp.partition}"
