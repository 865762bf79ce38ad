"""The idempotent consumer runner: each event's effect once, failures to the dead-letter topic.

For every partition's messages, in order:
1. read each as a CloudEvent (structured or binary) and validate its data
   against the catalogue's model for its type; anything wrong with the
   message itself (not JSON, no `id`, an unknown type, data that does not
   fit) sends it to `<topic>.dlq` at once (attempts 0: retrying cannot help);
2. apply the readable ones in chunks, one transaction each: insert
   `(consumer, event id)` into `processed_events` (a row already there means a
   duplicate, skipped; two copies in one chunk count once) and apply the
   handler's effect;
3. an event whose handler fails is retried alone a bounded number of times
   (later events of its partition wait, keeping their order), then goes to
   `<topic>.dlq` with the error in its headers, and the rest follow;
4. a failure of a dependency (the database or the broker unreachable, a lost
   connection, a serialization failure or deadlock) is nobody's fault: the
   consumer waits, with capped exponential backoff for as long as it takes,
   and applies the same chunk again. It never dead-letters for that, and
   readiness and `minzheng_consumer_waiting` say what it waits on;
5. offsets are committed only after the database commit (or the DLQ send),
   at most every 100 ms while messages keep coming (see `_commit_pending`);
6. under steady arrival a small round waits a few ms for more (see `_fetch`),
   so the per-chunk statements are paid by more events each.

A crash between the database commit and the offset commit redelivers the
event; the processed-events row turns the redelivery into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import Span, Tracer
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics, tracing
from shared.arrivals import RecentArrivals
from shared.db import processed_events
from shared.event_types import CATALOGUE
from shared.events import InvalidPayload, MalformedEvent, ReceivedEvent, read_event, read_events
from shared.faults import dependency_of, is_transient
from shared.identity import mask_text
from shared.kafka import DLQ_HEADER_PREFIX, dlq, make_consumer, make_producer
from shared.settings import Settings

log = structlog.get_logger("consumer")

T = TypeVar("T")
Handler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]
# Applies many new events at once, in order; returns {event id: reason} for those it refuses.
BatchHandler = Callable[[AsyncSession, list[ReceivedEvent]], Awaitable[dict[str, str]]]
Readable = tuple[ConsumerRecord, ReceivedEvent]
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})


_RECORD_PROCESSED = text(
    "INSERT INTO processed_events (consumer, event_id, topic, type)"
    " SELECT :consumer, t.event_id, :topic, t.type"
    " FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[])) AS t(event_id, type)"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)


class _ChunkFailed(Exception):
    """An event failed in a chunk applied without savepoints: the chunk is redone with them."""


class Reject(Exception):
    """A handler's verdict that an event can never be applied (a rule refuses it): no retries."""


@dataclass
class Consumer:
    """A named subscription: which topics, and a handler per event type."""

    name: str
    topics: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handler: BatchHandler | None = None
    _ignored: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def on(self, *types: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for t in types:
                self.handlers[t] = fn
            return fn

        return register

    def handler_for(self, event_type: str) -> Handler | None:
        """The per-event handler of a type; for a consumer with only a batch handler, that handler with one event.

        So when a chunk falls back to event by event, no event of a batch-only
        consumer is dropped as "ignored": each goes through the same code alone.
        """
        handler = self.handlers.get(event_type)
        if handler is not None or self.batch_handler is None:
            return handler
        return functools.partial(_one_through_batch, self.batch_handler)

    def batch(self, fn: BatchHandler) -> BatchHandler:
        """Register a handler that takes a whole chunk of events in one call (bulk work).

        The per-event handlers remain the fallback: if the batch handler fails,
        the chunk is applied event by event, with retries and the dead-letter topic.
        They also name the types the consumer applies (see `ignored_on`): a batch
        handler alone takes every type of its topics.
        """
        self.batch_handler = fn
        return fn

    def ignored_on(self, topic: str) -> frozenset[str]:
        """The catalogue's types on `topic` this consumer has no handler for: skipped unread, offsets committed.

        Monitoring, assistance and eldercare read topics that carry many types
        they do nothing with; those are not validated, recorded or sent to the
        database. A type outside the catalogue (or of another topic) is never
        ignored: it is read and dead-lettered with its reason.
        """
        ignored = self._ignored.get(topic)
        if ignored is None:
            on_topic = {t for t, spec in CATALOGUE.items() if spec.topic == topic}
            ignored = frozenset(on_topic - set(self.handlers)) if self.handlers else frozenset()
            self._ignored[topic] = ignored
        return ignored


@dataclass(frozen=True, slots=True)
class Waiting:
    """A partition (or the connection) held back until a dependency answers again."""

    dependency: str  # database, broker, http
    error: str  # the exception's class and first line, masked
    since: float  # epoch seconds
    retries: int

    def report(self) -> dict[str, Any]:
        return {
            "on": self.dependency,
            "error": self.error,
            "seconds": round(time.time() - self.since, 1),
            "retries": self.retries,
        }


DEPENDENCIES = ("database", "broker", "http")


class ConsumerRunner:
    # Waits after a transient failure: doubling from the first to the cap, with no limit on
    # how many (a valid event must never be dead-lettered because a dependency was down).
    first_wait_seconds = 0.1
    max_wait_seconds = 5.0
    # Under steady arrival (`linger_rate` messages a second or more), a round that found fewer than
    # `linger_until` messages waits up to `linger_seconds` for more (see `_fetch`): fewer, larger chunks.
    linger_seconds = 0.025
    linger_until = 200
    linger_rate = 100.0
    rate_window_seconds = 0.5
    commit_every_seconds = 0.1  # offsets committed at most this often while messages keep coming

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
        # What each partition (or "connection", the group membership) waits on, if anything.
        self.waiting: dict[str, Waiting] = {}
        self.running = False
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._committing: asyncio.Task[None] | None = None  # the offset commit in flight, if any
        self._pending: dict[TopicPartition, int] = {}  # offsets reached, not yet committed
        self._committed_at = 0.0
        self._arrivals = RecentArrivals()  # the recent fetches that found some: is arrival steady?

    def start(self) -> None:
        self._report_waiting()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.spec.name}")

    def status(self) -> dict[str, Any]:
        """What readiness reports for this consumer."""
        return {
            "running": self.running,
            "status": "waiting" if self.waiting else "running" if self.running else "stopped",
            "waiting": {where: w.report() for where, w in self.waiting.items()},
            "lag": dict(self.lag),
        }

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the transaction in hand, commit its offsets, leave the group.

        Cancelled after `timeout` (default: the grace period): the database
        rolls back what was not committed, and the uncommitted offsets
        redeliver those events on the next start.
        """
        self._stopping.set()
        if self._task:
            try:
                grace = self.settings.shutdown_grace_seconds if timeout is None else max(timeout, 0.1)
                await asyncio.wait_for(self._task, timeout=grace)
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
                self._waited("connection")
                backoff = 0.5
                await self._loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer error; reconnecting", consumer=self.spec.name, error=mask_text(str(exc)))
                if is_transient(exc):
                    self._waits("connection", exc)
                await self._stopped_within(backoff)
                backoff = min(backoff * 2, self.max_wait_seconds)
            finally:
                await self._close()

    async def _loop(self) -> None:
        assert self.kafka is not None
        self._pending = {}  # a new membership begins where the last commit left it
        try:
            while not self._stopping.is_set():
                batches = await self._fetch()
                # Partitions are independent (a person's events share one), so they are
                # applied side by side, each on its own connection.
                tps = list(batches)
                done = await asyncio.gather(*(self.handle_batch(batches[tp]) for tp in tps))
                # Offsets follow the database: a crash before this line redelivers
                # events whose effects processed_events then skips.
                self._pending.update({tp: d for tp, d in zip(tps, done, strict=True) if d is not None})
                due = not batches or time.monotonic() - self._committed_at >= self.commit_every_seconds
                if self._pending and due:
                    await self._commit_pending()
                self._update_lag()
            if self._pending:  # a stop: where the next start begins, unless leaving fails
                await self._commit_settled()  # a failed earlier commit must not keep this one from being sent
                with contextlib.suppress(Exception):
                    await self._commit_pending()
        finally:
            await self._commit_settled()

    async def _commit_pending(self) -> None:
        """Commit the offsets reached since the last commit, for the partitions this consumer still holds.

        Under steady arrival rounds come every few ms; one offset commit each
        was a broker request per chunk. Offsets are committed at most every
        `commit_every_seconds` and whenever a round finds nothing, so a crash
        redelivers at most that much, which processed_events turns into
        duplicates. A partition given to another member meanwhile is left to it.
        """
        assert self.kafka is not None
        held = self.kafka.assignment()
        offsets = {tp: offset for tp, offset in self._pending.items() if tp in held}
        self._pending = {}
        self._committed_at = time.monotonic()
        if offsets:
            await self._commit(offsets)

    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next round's messages: what the broker has, and under steady arrival what comes within a linger.

        Each chunk costs a fixed number of statements, so events trickling in at
        a few hundred a second, taken as they come, cost two or three times as
        much each as in a fuller chunk. When messages have been arriving at
        `linger_rate` a second or more over the last `rate_window_seconds` and
        this round found fewer than `linger_until`, the consumer waits up to
        `linger_seconds` for more before applying them. Deaths sent one at a
        time (a few events a second) never reach that rate: a lone death pays
        nothing for this.
        """
        assert self.kafka is not None
        most = 4 * self.settings.consumer_batch_size  # a full chunk on each of a few partitions
        batches = await self.kafka.getmany(timeout_ms=200, max_records=most)
        count, enough = sum(map(len, batches.values())), min(self.linger_until, most)
        if not batches or count >= enough or not self._steady(count):
            return batches
        deadline = time.monotonic() + self.linger_seconds
        while count < enough and not self._stopping.is_set():
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            more = await self.kafka.getmany(timeout_ms=left_ms, max_records=most - count)
            for tp, messages in more.items():
                batches.setdefault(tp, []).extend(messages)
                count += len(messages)
        return batches

    def _steady(self, count: int) -> bool:
        """Whether messages have arrived at `linger_rate` a second or more over the last `rate_window_seconds`."""
        now, rate, window = time.monotonic(), self.linger_rate, self.rate_window_seconds
        return self._arrivals.steady(count, now, rate=rate, window=window)

    async def _commit(self, offsets: dict[Any, int]) -> None:
        """Send the offsets and go on fetching: the broker's answer is awaited before the next commit.

        The events are already committed in the database, so this only moves
        where a restart begins; waiting for the answer here would hold every
        partition's next fetch back by a round trip. A failed commit surfaces at
        the next one (the consumer reconnects), and a crash before it redelivers
        events that processed_events turns into duplicates.
        """
        assert self.kafka is not None
        await self._commit_settled(quiet=False)
        self._committing = asyncio.create_task(self.kafka.commit(offsets))

    async def _commit_settled(self, *, quiet: bool = True) -> None:
        """Wait for the commit in flight; `quiet` when leaving, where a failure only means a redelivery."""
        committing, self._committing = self._committing, None
        if committing is None:
            return
        if not quiet:
            await committing
            return
        with contextlib.suppress(Exception):
            await committing

    async def handle_batch(self, messages: list[ConsumerRecord]) -> int | None:
        """Apply one partition's messages in order, many per transaction; return the next offset.

        Each step takes a chunk's longest readable prefix in one transaction
        (or dead-letters one unreadable message). A transient failure repeats
        the same step once the dependency answers, however long that takes; a
        stop request while waiting returns what is done, and the rest is
        redelivered after the restart.
        """
        i, done = 0, None
        size = self.settings.consumer_batch_size
        where = f"{messages[0].topic}/{messages[0].partition}" if messages else ""
        while i < len(messages) and not self._stopping.is_set():
            taken = await self._until_done(functools.partial(self._step, messages[i : i + size]), where)
            if taken is None:
                break
            i += taken
            done = messages[i - 1].offset + 1
        return done

    # -- transient failures: wait, then the same step again -----------------------

    async def _until_done(self, step: Callable[[], Awaitable[T]], where: str) -> T | None:
        """Run `step` until it succeeds, waiting out transient failures; None if stopped meanwhile.

        Anything else `step` raises is a defect of the runner and propagates.
        """
        wait = self.first_wait_seconds
        try:
            while True:
                try:
                    return await step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    self._waits(where, exc)
                if await self._stopped_within(wait):
                    return None
                wait = min(wait * 2, self.max_wait_seconds)
        finally:
            self._waited(where)

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()

    def _waits(self, where: str, exc: BaseException) -> None:
        before = self.waiting.get(where)
        error = mask_text("".join(traceback.format_exception_only(exc)).strip().splitlines()[0])[:300]
        if before is None:
            log.warning("dependency unavailable; waiting to retry", consumer=self.spec.name, where=where, error=error)
        self.waiting[where] = Waiting(
            dependency=dependency_of(exc),
            error=error,
            since=before.since if before else time.time(),
            retries=before.retries + 1 if before else 1,
        )
        self._report_waiting()

    def _waited(self, where: str) -> None:
        waited = self.waiting.pop(where, None)
        if waited is not None:
            log.info(
                "dependency back; resuming",
                consumer=self.spec.name,
                where=where,
                waited_seconds=round(time.time() - waited.since, 1),
            )
            self._report_waiting()

    def _report_waiting(self) -> None:
        on = {w.dependency for w in self.waiting.values()}
        for dependency in DEPENDENCIES:
            metrics.CONSUMER_WAITING.labels(self.settings.service, self.spec.name, dependency).set(
                1 if dependency in on else 0
            )

    # -- one step: a readable prefix in one transaction ------------------------------

    async def _step(self, chunk: list[ConsumerRecord]) -> int:
        """Apply the longest readable prefix of `chunk`; return how many messages it took (at least one).

        Messages of types the consumer ignores are taken without being read. An
        unreadable message is dead-lettered on its own when nothing readable comes
        before it. If an event of the prefix fails, those before it are committed,
        it is retried alone (and dead-lettered if it keeps failing), and the step
        ends after it.
        """
        topic = chunk[0].topic
        results = read_events(chunk, topic, self.spec.ignored_on(topic))
        readable: list[Readable] = []
        positions: list[int] = []  # where each readable event stands in `chunk`
        taken = len(chunk)
        for i, (message, result) in enumerate(zip(chunk, results, strict=True)):
            if isinstance(result, MalformedEvent):
                if not readable:
                    await self._dead_letter_unreadable(message, result)
                taken = i if readable else i + 1
                break
            if result is not None:
                readable.append((message, result))
                positions.append(i)
        if readable:
            applied, failed = await self._apply(readable)
            if failed:
                await self._retry_alone(*readable[applied])
                taken = positions[applied] + 1
        ignored = results[:taken].count(None)
        if ignored:
            self._count(topic, "ignored", ignored)
        return taken

    async def _dead_letter_unreadable(self, message: ConsumerRecord, exc: MalformedEvent) -> None:
        """Dead-letter a message that is not an event we can apply, in a span of its own (its log line has a trace)."""
        kind = "invalid" if isinstance(exc, InvalidPayload) else "malformed"
        headers = dict(message.headers or [])
        span = tracing.consumer_span(
            self.tracer,
            topic=message.topic,
            group=self.group_id,
            event_id="",
            event_type="",
            partition=message.partition,
            offset=message.offset,
            headers=headers,
        )
        with span as current:
            tracing.mark_error(current, exc)
            await self._dead_letter(message, f"{kind}: {exc}", attempts=0, kind=kind)

    async def _apply(self, readable: list[Readable]) -> tuple[int, bool]:
        """Apply events in one transaction; return (how many applied, whether the next one failed)."""
        if self.spec.batch_handler is not None:
            try:
                return await self._apply_at_once(readable)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.warning(
                    "batch failed; applying its events one by one", consumer=self.spec.name, error=mask_text(str(exc))
                )
        # Optimistically without savepoints (two round trips fewer per event); if an
        # event fails, the whole chunk rolls back and is applied again with them.
        try:
            return await self._apply_each(readable, savepoints=False)
        except _ChunkFailed:
            return await self._apply_each(readable, savepoints=True)

    async def _apply_at_once(self, readable: list[Readable]) -> tuple[int, bool]:
        """The batch handler takes the chunk's new events in one call; refused ones are dead-lettered."""
        assert self.spec.batch_handler is not None
        unique = first_copies(readable)
        async with self._chunk_span(unique), self.sessionmaker() as session, session.begin():
            fresh_ids = await self._record_processed(session, unique)
            fresh = [e for _, e in unique if e.id in fresh_ids]
            refused = await self.spec.batch_handler(session, fresh) if fresh else {}
            # Sent before the commit: if the commit then fails, the chunk comes again
            # and a refused event may reach the dead-letter topic twice, never zero times.
            for message, event in unique:
                if event.id in refused:
                    await self._dead_letter(message, refused[event.id], attempts=1, kind="refused", event=event)
        seen: set[str] = set()
        results: Counter[tuple[str, str]] = Counter()
        for message, event in readable:
            if event.id in seen or event.id not in fresh_ids:
                results[message.topic, "duplicate"] += 1
            elif event.id not in refused:  # _dead_letter counted those
                results[message.topic, "processed"] += 1
            seen.add(event.id)
        for (topic, result), n in results.items():
            self._count(topic, result, n)
        return len(readable), False

    @contextlib.asynccontextmanager
    async def _chunk_span(self, unique: list[Readable]) -> AsyncIterator[None]:
        """The span of a chunk applied in one call.

        A lone event (the usual case when events come one at a time) gets its
        own consumer span continuing its producer's trace, so a request can be
        followed into every service; a larger chunk gets one span linked to
        each event's trace.
        """
        if len(unique) == 1:
            with self._span(*unique[0]):
                yield
            return
        # Events written by one request carry the same trace headers: one link per distinct context,
        # so a chunk costs a few header parses, not one per event.
        distinct: dict[tuple[tuple[str, bytes], ...], dict[str, bytes]] = {}
        for message, _ in unique:
            headers = message.headers or ()
            context = tuple((k, v) for k, v in headers if k.lower() in _TRACE_HEADERS)
            if context not in distinct:
                distinct[context] = dict(headers)
        topic = unique[0][0].topic
        async with tracing.batch_span(
            self.tracer, topic=topic, group=self.group_id, headers=list(distinct.values())
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(unique))
            yield

    async def _record_processed(self, session: AsyncSession, events: Sequence[Readable]) -> set[str]:
        """Insert the events' ids into processed_events; return those that were not there yet."""
        # One statement text whatever the chunk's size (arrays, not a VALUES list), so it is
        # compiled and prepared once, not once per chunk size.
        inserted = await session.execute(
            _RECORD_PROCESSED,
            {
                "consumer": self.spec.name,
                "ids": [e.id for _, e in events],
                "topic": events[0][0].topic,  # a chunk is one partition's
                "types": [e.type for _, e in events],
            },
        )
        return set(inserted.scalars())

    async def _apply_each(self, readable: list[Readable], *, savepoints: bool) -> tuple[int, bool]:
        """Apply events in one transaction until one fails; return (how many applied, whether one failed).

        Without savepoints a failing event cannot be cut out of the transaction:
        it raises _ChunkFailed and nothing of the chunk is kept. A transient
        failure propagates: the whole step is repeated once the dependency is back.
        """
        results: list[tuple[str, str]] = []
        seen: set[str] = set()
        failed = False
        async with self.sessionmaker() as session, session.begin():
            for message, event in readable:
                if event.id in seen:
                    results.append((message.topic, "duplicate"))
                    continue
                seen.add(event.id)
                handler = self.spec.handler_for(event.type)
                if handler is None:
                    results.append((message.topic, "ignored"))
                    continue
                try:
                    with self._span(message, event):
                        if savepoints:
                            async with session.begin_nested():
                                results.append(
                                    (message.topic, await self._effect(session, handler, event, message.topic))
                                )
                        else:
                            results.append((message.topic, await self._effect(session, handler, event, message.topic)))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    if not savepoints:
                        raise _ChunkFailed from exc
                    failed = True
                    break
        for (topic, result), n in Counter(results).items():
            self._count(topic, result, n)
        return len(results), failed

    async def _retry_alone(self, message: ConsumerRecord, event: ReceivedEvent) -> str:
        """Retry a failing event alone a bounded number of times, then dead-letter it.

        A Reject (a rule refuses it) or an InvalidPayload is final at once. A
        transient failure is not counted as an attempt: it propagates, and the
        step is repeated once the dependency answers.
        """
        handler = self.spec.handler_for(event.type)
        if handler is None:
            self._count(message.topic, "ignored")
            return "ignored"
        with self._span(message, event) as span:
            attempts = 0
            while True:
                attempts += 1
                try:
                    result = await self._apply_one(handler, event, message.topic)
                    self._count(message.topic, result)
                    return result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    self._count(message.topic, "failed")
                    final = isinstance(exc, Reject | InvalidPayload) or attempts >= self.settings.consumer_max_retries
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
                        kind = "refused" if isinstance(exc, Reject | InvalidPayload) else "failed"
                        await self._dead_letter(message, detail, attempts=attempts, kind=kind, event=event)
                        return "dead_lettered"
                    await asyncio.sleep(self.settings.consumer_retry_backoff_seconds * 2 ** (attempts - 1))

    async def _apply_one(self, handler: Handler, event: ReceivedEvent, topic: str) -> str:
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

    def _count(self, topic: str, result: str, n: int = 1) -> None:
        metrics.EVENTS_CONSUMED.labels(self.settings.service, topic, result).inc(n)

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

    # -- the dead-letter topic ---------------------------------------------------------

    async def _dead_letter(
        self, message: ConsumerRecord, error: str, *, attempts: int, kind: str, event: ReceivedEvent | None = None
    ) -> None:
        """Send the message, unchanged, to `<topic>.dlq` with why in its headers.

        A broker that does not answer raises (a KafkaError, transient): the step
        is repeated later, so the message is never dropped.
        """
        producer = await self._dlq_producer()
        headers = [(k, v) for k, v in (message.headers or []) if not k.startswith(DLQ_HEADER_PREFIX)]
        headers += [
            ("dlq-error", mask_text(error)[:2000].encode()),
            ("dlq-kind", kind.encode()),
            ("dlq-consumer", self.spec.name.encode()),
            ("dlq-original-topic", message.topic.encode()),
            ("dlq-original-partition", str(message.partition).encode()),
            ("dlq-original-offset", str(message.offset).encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        if event is not None:
            headers += [("dlq-event-id", event.id[:200].encode()), ("dlq-event-type", event.type[:200].encode())]
        await producer.send_and_wait(dlq(message.topic), message.value, key=message.key, headers=headers)
        self._count(message.topic, "dead_lettered")
        log.error(
            "event dead-lettered",
            consumer=self.spec.name,
            topic=message.topic,
            offset=message.offset,
            kind=kind,
            attempts=attempts,
            error=mask_text(error)[:500],
        )

    async def _dlq_producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self.producer = producer
        return self.producer


async def _one_through_batch(batch_handler: BatchHandler, session: AsyncSession, event: ReceivedEvent) -> None:
    refused = await batch_handler(session, [event])
    if event.id in refused:
        raise Reject(refused[event.id])


def read(message: ConsumerRecord) -> ReceivedEvent:
    """A message as a CloudEvent whose data fits the catalogue's model; MalformedEvent otherwise."""
    return read_event(message.value, message.key, message.headers, message.topic)


def first_copies(readable: list[Readable]) -> list[Readable]:
    """The events of a chunk with later copies of an event id left out (applied once, counted duplicate)."""
    seen: set[str] = set()
    unique = []
    for message, event in readable:
        if event.id not in seen:
            seen.add(event.id)
            unique.append((message, event))
    return unique
