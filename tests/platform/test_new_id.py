"""shared.db.new_id: version-4 UUIDs made without UUID.__init__, the same values and behaviour as uuid's own."""

from __future__ import annotations

import uuid

import orjson

from shared.db import new_id


def test_new_ids_are_random_version_4_uuids_like_any_other() -> None:
    ids = [new_id() for _ in range(3000)]  # more than one pool's worth
    assert len(set(ids)) == len(ids)
    for made in ids:
        again = uuid.UUID(str(made))
        assert isinstance(made, uuid.UUID) and made.version == 4 and made.variant == uuid.RFC_4122
        assert again == made and hash(again) == hash(made) and again.bytes == made.bytes
        assert orjson.dumps(made) == orjson.dumps(again)
    # Each of the 122 random bits is set in some id and clear in another.
    random_bits = ((1 << 128) - 1) & ~((0xC000 << 48) | (0xF000 << 64))
    assert _union(ids) & random_bits == random_bits
    assert _union([uuid.UUID(int=~i.int & ((1 << 128) - 1)) for i in ids]) & random_bits == random_bits


def _union(ids: list[uuid.UUID]) -> int:
    bits = 0
    for made in ids:
        bits |= made.int
    return bits
