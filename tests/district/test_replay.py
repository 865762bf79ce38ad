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


def test_a_step_is_timed_under_its_route_with_the_ids_left_out() -> None:
    path = "/v1/applications/0b8e6c1e-8d3f-4c55-9a51-2f7f3c1d2e4a/confirm"
    assert replay.step_name("POST", "assistance", path) == "POST assistance/v1/applications/{id}/confirm"
    timings = replay.Timings()
    timings.add("POST registry/v1/marriages", 0.25)
    timings.add("POST registry/v1/marriages", 0.5)
    assert (timings.counts["POST registry/v1/marriages"], timings.seconds["POST registry/v1/marriages"]) == (2, 0.75)


def test_births_and_newcomers_registered_from_the_day_s_intake_file(replayed: Replayed) -> None:
    """Each planned birth and move-in is a line the registry accepted; the milestone run ran once to catch up with
    the register, then once a month."""
    plan = planning.make_plan(population.generate(SEED, SCALE), SEED, date(2022, 1, 1), date(2022, 2, 28))
    planned = len(plan.births) + sum(m.kind == "move_in" for m in plan.moves)
    assert planned > 0, "nothing to register: the check would prove nothing"
    assert replayed.counters.registered == planned
    assert "intake lines" not in replayed.counters.refusals
    assert replayed.counters.timings.counts["POST registry/v1/milestones/run"] == 1 + 2


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
