"""Kafka clients configured one way for every service, and the topics of the contract."""

from __future__ import annotations

import contextlib
import random
import struct
from collections.abc import Sequence
from functools import lru_cache

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.event_types import TOPICS  # the catalogue spells every topic once
from shared.settings import Settings

DLQ_SUFFIX = ".dlq"
# Headers the consumer adds when it dead-letters a message; a replay removes them.
DLQ_HEADER_PREFIX = "dlq-"
MAX_BATCH_BYTES = 256 * 1024


def dlq(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


ALL_TOPICS = TOPICS + tuple(dlq(t) for t in TOPICS)


def make_producer(settings: Settings) -> AIOKafkaProducer:
    acks: int | str = settings.kafka_acks if settings.kafka_acks == "all" else int(settings.kafka_acks)
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"minzheng-{settings.service}",
        acks=acks,
        enable_idempotence=settings.kafka_enable_idempotence,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        linger_ms=2,
        # A relay batch (up to OUTBOX_BATCH_SIZE rows of ~400 B) fits one batch per partition: with the
        # default 16 KiB the producer sealed a batch every ~40 rows and waited for each to drain, a round
        # trip per 40 events. Below max_request_size (1 MiB), so one batch is always one request.
        max_batch_size=MAX_BATCH_BYTES,
        partitioner=partition_of_key,
    )


def make_consumer(settings: Settings, topics: list[str], group_id: str | None = None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"minzheng-{settings.service}",
        group_id=group_id or settings.consumer_group,
        enable_auto_commit=False,  # offsets are committed after the database commit
        auto_offset_reset="earliest",
        max_poll_records=500,
        # The longest a fetch waits for data; kept short because some brokers (the
        # local one) wait it out in full instead of answering when data arrives.
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=1_000,
        request_timeout_ms=15_000,
    )


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=65_536)
def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of a key (the Java client's `Utils.murmur2`), as aiokafka computes it.

    The same numbers as aiokafka's byte-by-byte version, so a key keeps its
    partition; four bytes are read at a time, a few times faster, and a key
    seen again (a person's next event) is not hashed again.
    """
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length // 4
    for k in struct.unpack_from(f"<{whole}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole * 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_of_key(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """aiokafka's default partitioner (a key's partition as the Java client picks it), with the faster hash."""
    if key is None:
        return random.choice(available or all_partitions)  # noqa: S311 - spreading load, not secrecy
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


async def create_topics(bootstrap: str, partitions: int = 3, replication: int = 1) -> list[str]:
    """Create every topic of the contract and its dead-letter topic; return those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="minzheng-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in ALL_TOPICS if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(t, _partitions(t, partitions), replication) for t in missing])
        return missing
    finally:
        await admin.close()


def _partitions(topic: str, partitions: int) -> int:
    """A dead-letter topic has one partition: its offsets name its messages (`minzheng dlq replay --offset`)."""
    return 1 if topic.endswith(DLQ_SUFFIX) else partitions
