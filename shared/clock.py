"""The business date: today's date, or a simulated one for replaying a past year.

Every rule that depends on "today" (time limits, ages, the month a payment is for, dates that may not be in the
future) asks `clock.today()`, never `date.today()`, so that a replay of a past year (`minzheng district replay`)
can move the whole system's calendar forward month by month. Technical timestamps (event times, audit rows,
commit times) stay real and are not affected.

The simulated date is read from the file named by `MINZHENG_TODAY_FILE` (one ISO date), which the replay rewrites
as its calendar advances; every service process of the stack sees the same date. The file is re-read only when its
modification time changes. Without the variable (every real deployment) the date is the machine's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path

_ENV = "MINZHENG_TODAY_FILE"
_cache: tuple[float, date] | None = None
_as_of: ContextVar[date | None] = ContextVar("business_date_as_of", default=None)


def birthday(birth_date: date, age: int) -> date:
    """The day a person born on `birth_date` turns `age` (29 February → 1 March in common years)."""
    year = birth_date.year + age
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


@contextmanager
def as_of(day: date) -> Iterator[None]:
    """Within the block, in this task only, `today()` answers `day`.

    A batch of decisions already taken on past dates (a caseload taken on, each step on the day it was decided)
    runs the same rules as the single requests, each step on its own date, without moving anyone else's calendar.
    """
    token = _as_of.set(day)
    try:
        yield
    finally:
        _as_of.reset(token)


def simulated_file() -> Path | None:
    """The file holding the simulated date, when this process runs on a simulated calendar."""
    name = os.environ.get(_ENV)
    return Path(name) if name else None


def today() -> date:
    """The business date: the simulated one when configured and readable, otherwise the machine's."""
    global _cache
    fixed = _as_of.get()
    if fixed is not None:
        return fixed
    path = simulated_file()
    if path is None:
        return date.today()
    try:
        mtime = path.stat().st_mtime_ns
        if _cache is None or _cache[0] != mtime:
            _cache = (mtime, date.fromisoformat(path.read_text().strip()))
        return _cache[1]
    except (OSError, ValueError):
        # A missing or half-written file: the machine's date is the safe answer (never a crash on a request path).
        return date.today()


def set_today(path: Path, day: date) -> None:
    """Move a simulated calendar to `day` (written whole, then renamed, so a reader never sees half a date)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(day.isoformat())
    os.replace(tmp, path)
