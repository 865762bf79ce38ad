"""The producer's partitioner: a key lands on the partition aiokafka's (and the Java client's) default picks.

Order per person rests on every event of a key going to one partition, before
and after an upgrade: the faster hash must give the very same numbers.
"""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import kafka


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_the_hash_is_kafka_s_murmur2(key: bytes) -> None:
    assert kafka.murmur2(key) == murmur2(key)


def test_a_key_gets_the_default_partitioner_s_partition() -> None:
    default = DefaultPartitioner()
    for partitions in (1, 3, 7):
        all_partitions = list(range(partitions))
        for _ in range(300):
            key = str(uuid.uuid4()).encode()
            expected = default(key, all_partitions, all_partitions)
            assert kafka.partition_of_key(key, all_partitions, all_partitions) == expected
    assert kafka.partition_of_key(None, [0, 1, 2], [1]) == 1  # no key: an available partition
