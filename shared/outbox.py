"""The outbox relay: publishes committed events to Kafka in order, marks them published.

One relay per service is active at a time (a PostgreSQL advisory lock elects
it), so replicas are safe. It takes unpublished rows in `seq` order with
`FOR UPDATE SKIP LOCKED`, sends them (aiokafka keeps per-partition order, and
the key decides the partition), waits for the broker's acknowledgement, and
only then marks them published in the same transaction that locked them. If
the broker is down the transaction rolls back, the rows stay unpublished and
the relay retries with backoff: nothing is lost, at worst a row is sent twice
with the same event id, which consumers drop.

It wakes on `NOTIFY outbox` (sent by `publish()` at commit) and polls as a
fallback, so latency is milliseconds when the broker is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import BigInteger, Text, bindparam, cast, delete, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import metrics, tracing
from shared.arrivals import RecentArrivals
from shared.db import outbox, utcnow
from shared.events import STRUCTURED_CONTENT_TYPE
from shared.kafka import make_producer
from shared.settings import Settings

log = structlog.get_logger("outbox")
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
# The rows marked are unpublished (locked by this transaction): the predicate lets the partial index find them.
_MARK_PUBLISHED = text(
    "UPDATE outbox SET published_at = now() WHERE seq = ANY(:seqs) AND published_at IS NULL"
).bindparams(bindparam("seqs", type_=ARRAY(BigInteger)))


# The structured-mode CloudEvent of a row as JSON text, the same event as the table's `envelope` column
# (shared/outbox_schema.py) but joined as text: reading the computed jsonb column and printing it cost
# ~20 us a row, this ~3 us (100,000 rows, loaded machine). Only `data` is printed from jsonb.
BODY = " || ".join(
    (
        """'{"specversion":"1.0","id":"' || id::text || '","source":'""",
        "to_json('/minzheng/' || split_part(type, '.', 1))",
        """',"type":'""",
        "to_json(type::text)",
        """',"subject":'""",
        "to_json(coalesce(subject, key))",
        """',"time":'""",
        "to_json(time)",
        """',"datacontenttype":"application/json","data":'""",
        "data::text",
        "'}'",
    )
)

# Built once (not once a batch): the oldest unpublished rows, locked, each event as JSON text.
_UNPUBLISHED = (
    select(
        outbox.c.seq,
        outbox.c.id,
        outbox.c.type,
        outbox.c.topic,
        outbox.c.key,
        cast(outbox.c.headers, Text).label("headers"),
        literal_column(BODY).label("body"),
    )
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


@dataclass(slots=True)
class _Group:
    """Rows of one batch that share their stored headers and topic: one span, one header list."""

    span: trace.Span
    headers: list[tuple[str, bytes]]
    count: int = 0


class OutboxRelay:
    # Under steady arrival (`linger_rate` rows a second or more), a wake-up waits `linger_seconds`
    # for more rows before the next round (see `_steady`).
    linger_seconds = 0.02
    linger_rate = 100.0
    rate_window_seconds = 0.5

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        tracer: trace.Tracer | None = None,
    ):
        self.settings = settings
        self.tracer = tracer or tracing.tracer()
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.producer: AIOKafkaProducer | None = None
        self.wake = asyncio.Event()
        self.broker_up = False
        self.is_leader = False
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._arrivals = RecentArrivals()  # the recent rounds that sent rows: is arrival steady?
        self._lock_id = zlib.crc32(f"minzheng-outbox-{settings.service}".encode())

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.settings.service}")

    async def stop(self, timeout: float | None = None) -> None:
        """Flush what can be flushed, then stop (graceful shutdown).

        The leader publishes every unpublished row before it returns, if the
        broker takes them within `timeout` (default: the grace period); what
        is left stays in the outbox for the next start.
        """
        self._stopping.set()
        self.wake.set()
        if self._task:
            try:
                await asyncio.wait_for(
                    self._task, timeout=self.settings.shutdown_grace_seconds if timeout is None else max(timeout, 0.1)
                )
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self._close_producer()

    async def _close_producer(self) -> None:
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
            self.broker_up = False

    # -- the loop ----------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                async with self.engine.connect() as lock_conn:
                    raw = await lock_conn.get_raw_connection()
                    pg = raw.driver_connection
                    got = await pg.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_id)
                    if not got:
                        self.is_leader = False
                        await self._sleep(5.0)
                        continue
                    self.is_leader = True
                    await pg.add_listener("outbox", self._on_notify)
                    try:
                        await self._lead()
                    finally:
                        with contextlib.suppress(Exception):
                            await pg.remove_listener("outbox", self._on_notify)
                            await pg.fetchval("SELECT pg_advisory_unlock($1)", self._lock_id)
                        self.is_leader = False
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database gone: retry, never die
                log.warning("outbox relay error", error=str(exc))
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _steady(self, sent: int, now: float) -> bool:
        """Whether rows have been coming at `linger_rate` a second or more over the last `rate_window_seconds`.

        Then, woken for more, the relay lingers `linger_seconds` before taking
        them: under steady arrival every consumer's commit wakes it for a few
        rows, and each round costs a locking SELECT, a broker round trip and an
        UPDATE whatever its size. A lone event (rows a few a second) is taken at
        once, so the commit-to-topic latency of a quiet system is unchanged.
        """
        return self._arrivals.steady(sent, now, rate=self.linger_rate, window=self.rate_window_seconds)

    def _on_notify(self, *_args: object) -> None:
        self.wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _lead(self) -> None:
        backoff = 0.2
        last_cleanup = 0.0
        loop = asyncio.get_running_loop()
        while True:
            self.wake.clear()
            try:
                sent = await self.publish_batch()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox publish failed; will retry", error=str(exc))
                await self._close_producer()
                if self._stopping.is_set():
                    return
                await self._sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if self._stopping.is_set():
                if sent == 0:
                    return
                continue  # flushing before stopping: go on until nothing is left
            if sent >= self.settings.outbox_batch_size:
                continue  # more waiting: go on at once
            if loop.time() - last_cleanup > 3600:
                last_cleanup = loop.time()
                await self.cleanup()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.settings.outbox_poll_seconds)
            if self._steady(sent, loop.time()):
                await self._sleep(self.linger_seconds)

    async def _producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except Exception:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self.producer = producer
        self.broker_up = True
        return self.producer

    async def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows; return how many were published.

        Three round trips whatever the batch size: one locking SELECT, every
        row handed to the producer before any acknowledgement is awaited (the
        producer lingers and packs them into a few requests per partition), and
        one UPDATE marking them all. Each event comes as JSON text joined by
        PostgreSQL (BODY), so the relay never decodes and re-encodes it.
        """
        async with self.sessionmaker() as session, session.begin():
            rows = (await session.execute(_UNPUBLISHED, {"limit": self.settings.outbox_batch_size})).all()
            if not rows:
                metrics.OUTBOX_BACKLOG.labels(self.settings.service).set(0)
                return 0
            await self._send(await self._producer(), rows)
            await session.execute(_MARK_PUBLISHED, {"seqs": [r.seq for r in rows]})
        for topic, n in Counter(row.topic for row in rows).items():
            metrics.EVENTS_PUBLISHED.labels(self.settings.service, topic).inc(n)
        return len(rows)

    async def _send(self, producer: AIOKafkaProducer, rows: list[Any]) -> None:
        """Hand every row to the producer, then wait for all acknowledgements (raises if any failed).

        aiokafka keeps one request in flight per partition and the key picks
        the partition, so rows of one key reach the topic in `seq` order. Rows
        written by one request carry the same stored headers: they share one
        producer span (child of that request's trace) and one list of message
        headers, so the headers are read and built once, not once a row.
        """
        groups: dict[tuple[str, str], _Group] = {}
        futures = []
        try:
            for row in rows:
                group = groups.get((row.headers, row.topic))
                if group is None:
                    group = groups[(row.headers, row.topic)] = self._group(row)
                group.count += 1
                futures.append(
                    await producer.send(row.topic, row.body.encode(), key=row.key.encode(), headers=group.headers)
                )
            # Raises if the broker did not acknowledge: the transaction rolls back,
            # the rows stay unpublished and the next round sends them again. Awaited
            # one after the other, not gathered: once the first is acknowledged most of
            # the rest are done already, and gather wrapped each in a task of its own
            # (a sixth of the relay's CPU at 1,000 rows a batch).
            for future in futures:
                await future
        except Exception as exc:
            for future in futures:  # the others' failures are this one's: not logged as never retrieved
                future.add_done_callback(_retrieved)
            for group in groups.values():
                tracing.mark_error(group.span, exc)
            raise
        finally:
            for group in groups.values():
                if group.count > 1:
                    group.span.set_attribute("messaging.batch.message_count", group.count)
                group.span.end()

    def _group(self, row: Any) -> _Group:
        """The producer span and message headers of the rows that share `row`'s stored headers and topic."""
        stored = {k: str(v) for k, v in json.loads(row.headers or "{}").items()}
        span = self.tracer.start_span(
            f"{row.topic} publish",
            context=tracing.extract(stored),  # the context the row was written in (the request's, usually)
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": row.topic,
                "messaging.message.id": str(row.id),
                "cloudevents.event_type": str(row.type),
            },
        )
        carried = {k: v for k, v in stored.items() if k not in TRACE_HEADERS}
        carried |= tracing.inject_headers(trace.set_span_in_context(span))
        headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode())] + [(k, v.encode()) for k, v in carried.items()]
        return _Group(span, headers)

    async def cleanup(self) -> None:
        """Forget published rows after the retention period (kept that long for replay)."""
        cutoff = utcnow() - timedelta(days=self.settings.outbox_retention_days)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(outbox).where(outbox.c.published_at < cutoff))


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def backlog(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
        ).scalar_one()
    )
