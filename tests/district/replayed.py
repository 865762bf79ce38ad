"""One tiny district, loaded and replayed for two months, shared by the replay and report tests of a run.

Generated at scale 0.01 with its own stack (in the run's temporary folder); the stack is started again for each
look at it. Read back from the services' records (read only).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.district import load, population, replay
from services.district.stack import DistrictStack

SEED, SCALE = 11, 0.01  # enough deaths in January to reach February's payrolls
FIRST, LAST = date(2022, 1, 1), date(2022, 2, 28)


@dataclass(frozen=True)
class Replayed:
    directory: Path
    counters: replay.Counters
    lines: list[tuple[Any, ...]]  # every payroll line of both services, without generated ids
    known_dead: list[tuple[str, str]]  # (service, status) of lines built after the person's death was recorded


_done: dict[str, Replayed] = {}


def replayed_district(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """The district of the run (made once)."""
    if "district" not in _done:
        directory = tmp_path_factory.mktemp("district-replay")
        load.run(seed=SEED, scale=SCALE, directory=directory, echo=lambda _: None)
        district = population.generate(SEED, SCALE)
        with DistrictStack(directory) as stack:
            target = replay.stack_target(stack)
            counters = asyncio.run(replay.replay(target, district, SEED, FIRST, LAST, lambda _: None))
            urls = database_urls(stack)
            lines = asyncio.run(payroll_lines(urls))
            known_dead = asyncio.run(lines_of_the_known_dead(urls))
        _done["district"] = Replayed(directory, counters, lines, known_dead)
    return _done["district"]


def database_urls(stack: DistrictStack) -> dict[str, str]:
    """Plain PostgreSQL URLs of the stack's databases: the tests read the services' records, never write."""
    assert stack.pg is not None
    return {s: stack.pg.url(s).replace("postgresql+asyncpg", "postgresql") for s in stack.urls()}


async def payroll_lines(urls: dict[str, str]) -> list[tuple[Any, ...]]:
    """Every line of both services' payrolls, in a stable order, without generated ids."""
    out: list[tuple[Any, ...]] = []
    for service, program in (("assistance", "l.program"), ("eldercare", "'old_age_allowance'")):
        conn = await asyncpg.connect(urls[service])
        try:
            rows = await conn.fetch(
                f"SELECT l.id_number, {program} AS program, l.for_month, l.kind, l.amount, l.status,"  # noqa: S608
                " l.reason_code FROM payroll_lines l ORDER BY 1, 2, 3, 4"
            )
        finally:
            await conn.close()
        out += [(service, *r.values()) for r in rows]
    return out


async def lines_of_the_known_dead(urls: dict[str, str]) -> list[tuple[str, str]]:
    """(service, status) of what each payroll did for a beneficiary whose death it should have known about.

    For every death recorded (reported or confirmed) of a person paid by a service (any line in any of its
    payrolls), and every payroll of that service built after the death was recorded for a month after the month of
    death (the old-age allowance pays the month of death by its rule): the regular line's status, or "absent" when
    the payroll left the person out (a terminated case has no line). Anything but "paid" is the gate working.
    """
    registry = await asyncpg.connect(urls["registry"])
    try:
        deaths = await registry.fetch(
            "SELECT person_id, date_of_death, created_at FROM deaths WHERE status IN ('reported', 'confirmed')"
        )
    finally:
        await registry.close()
    found: list[tuple[str, str]] = []
    for service in ("assistance", "eldercare"):
        conn = await asyncpg.connect(urls[service])
        try:
            for d in deaths:
                rows = await conn.fetch(
                    "SELECT coalesce(l.status, 'absent') AS status FROM payrolls p"
                    " LEFT JOIN payroll_lines l ON l.payroll_id = p.id AND l.person_id = $1 AND l.kind = 'regular'"
                    " WHERE p.created_at > $2 AND p.month > $3"
                    " AND EXISTS (SELECT 1 FROM payroll_lines b WHERE b.person_id = $1)",
                    d["person_id"],
                    d["created_at"],
                    d["date_of_death"].replace(day=1),
                )
                found += [(service, r["status"]) for r in rows]
        finally:
            await conn.close()
    return found
