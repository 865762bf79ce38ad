"""The replay at a tiny scale: deterministic for a seed, and no payment to anyone known dead at payroll time.

One district (scale 0.005) is generated and loaded on its own stack, two months are replayed, and the services'
records are read back (read only). The plan is also checked for determinism on its own (pure, no stack).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from services.district import load, population, replay
from services.district import plan as planning
from services.district.stack import DistrictStack
from tests.district.replayed import SCALE, SEED, Replayed, database_urls, payroll_lines, replayed_district

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    return replayed_district(tmp_path_factory)


def test_the_plan_is_the_same_for_a_seed_and_differs_for_another() -> None:
    district = population.generate(SEED, SCALE)
    start, end = date(2022, 1, 1), date(2022, 2, 28)
    one, again = planning.make_plan(district, SEED, start, end), planning.make_plan(district, SEED, start, end)
    other = planning.make_plan(district, SEED + 1, start, end)
    assert one.size() > 0
    assert (one.deaths, one.moves, one.births, one.applications) == (
        again.deaths,
        again.moves,
        again.births,
        again.applications,
    )
    assert one.deaths != other.deaths


def test_every_line_of_someone_known_dead_at_payroll_time_is_withheld(replayed: Replayed) -> None:
    known_dead = replayed.known_dead
    assert known_dead, "no beneficiary's death reached a later payroll: the check would prove nothing"
    assert all(status in ("withheld", "absent") for _, status in known_dead), known_dead


def test_two_months_were_paid_with_the_replay_s_events_applied(replayed: Replayed) -> None:
    counters = replayed.counters
    assert set(counters.payrolls) == {f"{s}:2022-0{m}" for s in ("assistance", "eldercare") for m in (1, 2)}
    assert counters.partner_events > 0 and counters.http_writes > 0
    months = {(line[0], line[3].isoformat()[:7]) for line in replayed.lines if line[4] == "regular"}
    assert {("assistance", "2022-01"), ("assistance", "2022-02"), ("eldercare", "2022-02")} <= months


@pytest.mark.full  # a second load and replay (~85 s); the default suite checks the plan's determinism above
def test_the_replay_is_deterministic_for_a_seed(replayed: Replayed, tmp_path: Path) -> None:
    """A second district of the same seed, loaded and replayed on a stack of its own, pays the same lines."""
    directory = tmp_path / "again"
    load.run(seed=SEED, scale=SCALE, directory=directory, echo=lambda _: None)
    district = population.generate(SEED, SCALE)
    with DistrictStack(directory) as stack:
        asyncio.run(
            replay.replay(
                replay.stack_target(stack), district, SEED, date(2022, 1, 1), date(2022, 2, 28), lambda _: None
            )
        )
        lines = asyncio.run(payroll_lines(database_urls(stack)))
    assert lines == replayed.lines
