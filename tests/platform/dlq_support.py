"""Reading topics the way an operator would: from the beginning to the end, to see what is on them."""

from __future__ import annotations

import asyncio

from aiokafka.structs import ConsumerRecord

from shared.dlq import read_topic


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every message on `topic` now, all partitions, in offset order per partition."""
    return await read_topic(bootstrap, topic)


async def dead_letters(
    bootstrap: str, topic: str, wanted: set[str], by: str = "event_id", timeout: float = 15
) -> dict[str, list[ConsumerRecord]]:
    """The messages on a dead-letter topic that carry each wanted event id (or marker text in the value).

    Waits until every wanted one is there, then reports all copies of each
    (a test asserts there is exactly one).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found: dict[str, list[ConsumerRecord]] = {}
        for record in await read_all(bootstrap, topic):
            for w in wanted:
                if _matches(record, w, by):
                    found.setdefault(w, []).append(record)
        if set(found) >= wanted or loop.time() > deadline:
            return found
        await asyncio.sleep(0.2)


def _matches(record: ConsumerRecord, wanted: str, by: str) -> bool:
    if by == "event_id":
        return dict(record.headers).get("dlq-event-id") == wanted.encode() or f'"id": "{wanted}"'.encode() in (
            record.value or b""
        )
    return wanted.encode() in (record.value or b"")
