"""Helpers for the registry's tests: register people, read what was written to the outbox."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text

from shared import identity
from tests.support import Stack, new_id_number


async def register(
    c: httpx.AsyncClient, name: str = "张伟", division: str = "340207001001", **kw: Any
) -> tuple[str, str]:
    """(person_id, id_number) of a freshly registered person."""
    number = kw.pop("id_number", None) or new_id_number(**kw)
    r = await c.post("/v1/persons", json={"id_number": number, "name": name, "hukou_division": division})
    assert r.status_code == 201, r.text
    return r.json()["person_id"], number


def born(year: int, month: int = 6, day: int = 15, sex: str = "M", seq: int | None = None) -> str:
    import random

    s = seq if seq is not None else random.randint(0, 499) * 2 + (1 if sex == "M" else 0)
    if (s % 2 == 1) != (sex == "M"):
        s = (s + 1) % 1000
    return identity.make("340207", date(year, month, day), s)


async def events(stack: Stack, key: str, type: str | None = None) -> list[dict[str, Any]]:
    """Events the registry wrote to its outbox for this key (person, household or marriage id), in order."""
    async with stack["registry"].state.sessionmaker() as s:
        rows = (
            await s.execute(text("SELECT type, envelope FROM outbox WHERE key = :k ORDER BY seq"), {"k": key})
        ).all()
    return [env for t, env in rows if type is None or t == type]
