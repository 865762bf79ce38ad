"""The synthetic district: deterministic for a seed, valid identity numbers, households eligible by the rules,
and one load at a tiny scale through the services' public APIs on a private stack."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from statistics import mean

import httpx
import pytest

from services.assistance.domain import dibao, tekun
from services.assistance.domain.income import (
    Assets,
    Disability,
    DisabilityKind,
    ExpenseKind,
    Household,
    Income,
    IncomeKind,
    LabourCapacity,
    Member,
    RigidExpense,
)
from services.assistance.domain.standards import Standards
from services.district import load, population
from services.district import plan as planning
from services.district import stack as stack_module
from services.district.model import District, Program
from services.district.model import Household as DistrictHousehold
from services.district.model import Person as DistrictPerson
from services.district.stack import DistrictStack
from services.eldercare.domain import allowance
from services.eldercare.domain import assessment as gbt
from shared import identity
from tests.assistance.rules_support import SEED

SCALE = 0.01


@pytest.fixture(scope="module")
def district() -> District:
    return population.generate(7, SCALE)


def standards() -> Standards:
    return Standards(SEED, population.ASSESSED_ON.replace(year=2022, month=1, day=1))


def member(p: DistrictPerson, incomes: tuple[Income, ...] = (), employment_cost: Decimal = Decimal(0)) -> Member:
    disability = Disability(p.disability.grade, DisabilityKind(p.disability.kind)) if p.disability else None
    age = p.age_on(population.ASSESSED_ON)
    return Member("self", age, incomes, employment_cost, disability, p.seriously_ill, LabourCapacity(p.labour_capacity))


def as_rules_see_it(d: District, h: DistrictHousehold) -> Household:
    members = tuple(
        member(d.person(n), tuple(Income(IncomeKind(i.kind), i.monthly_amount) for i in f.incomes), f.employment_cost)
        for n, f in zip(h.members, h.finances, strict=True)
    )
    expenses = tuple(RigidExpense(e.member, ExpenseKind(e.kind), e.monthly_amount) for e in h.rigid_expenses)
    return Household(members, expenses, Assets(h.assets.financial, h.assets.homes, h.assets.vehicles))


def test_same_seed_same_district_another_seed_another(district: District) -> None:
    assert population.generate(7, SCALE) == district
    other = population.generate(8, SCALE)
    assert other != district
    assert [p.id_number for p in other.persons] != [p.id_number for p in district.persons]


def test_counts_follow_the_report_at_scale(district: District) -> None:
    t = district.targets
    assert (t.dibao_households, t.dibao_people, t.tekun, t.orphans) == (56, 82, 18, 1)
    dibao_households = district.households_on(Program.DIBAO)
    assert len(dibao_households) == t.dibao_households
    assert sum(len(h.members) for h in dibao_households) == t.dibao_people
    assert len(district.households_on(Program.TEKUN_DISPERSED, Program.TEKUN_CENTRALISED)) == t.tekun
    assert len(district.disability_living) == t.disability_living
    assert len(district.disability_care) == t.disability_care
    ages = [p.age_on(population.LOAD_DATE) for p in district.persons]
    assert sum(a >= 60 for a in ages) == t.residents_60_plus
    assert sum(a >= 80 for a in ages) == t.residents_80_plus
    assert len(district.institutions) == t.institutions
    assert sum(i.beds for i in district.institutions) == t.beds
    assert sum(len(i.residents) for i in district.institutions) == t.institution_residents


def test_every_identity_number_valid_unique_and_matching_the_person(district: District) -> None:
    numbers = [p.id_number for p in district.persons]
    assert len(set(numbers)) == len(numbers)
    for p in district.persons:
        parsed = identity.parse(p.id_number, today=population.LOAD_DATE)
        assert (parsed.birth_date, parsed.sex) == (p.birth_date, p.sex)
        assert p.hukou_division[:9] in population.TOWNS and len(p.hukou_division) == 12


def test_households_are_keyed_consistently(district: District) -> None:
    for h in district.households:
        assert [district.person(n).household_key for n in h.members] == [h.key] * len(h.members)
        assert district.person(h.members[0]).relation == "head"
        assert len(h.finances) == len(h.members)


def test_dibao_households_are_eligible_and_average_the_report() -> None:
    """At a scale large enough for the average: the rules give every household eligible, and the share of the
    report's 794.51 a person that leaves the ten months, with the year's entries and gradual exits, at its total."""
    d = population.generate(3, 0.2)
    total, people = Decimal(0), 0
    for h in d.households_on(Program.DIBAO):
        assessed = dibao.assess(as_rules_see_it(d, h), standards())
        assert assessed.eligible and assessed.kind == "household", assessed.reasons
        total += assessed.total
        people += len(h.members)
    in_force = population.DIBAO_MONTHLY_TOTAL * population.DIBAO_IN_FORCE_SHARE / population.DIBAO_PEOPLE
    assert abs(total / people - in_force) < Decimal("0.5")
    assert Decimal("780") < in_force < Decimal("794.51")


def test_tekun_eligible_with_care_levels_from_their_score_sheets(district: District) -> None:
    sheets = {s.id_number: s for s in district.assessments}
    levels: Counter[str] = Counter()
    for h in district.households_on(Program.TEKUN_DISPERSED, Program.TEKUN_CENTRALISED):
        assert h.tekun is not None
        person = district.person(h.members[0])
        sheet = sheets[person.id_number]
        assert population.adl_items_failed(sheet.scores) == h.tekun.adl_items_failed
        assert gbt.assess(dict(sheet.scores)).level == population.TEKUN_LEVEL[h.tekun.adl_items_failed]
        level = tekun.care_level(h.tekun.adl_items_failed)
        alone = as_rules_see_it(district, h)
        assessed = tekun.assess(
            alone, tekun.Supporter(h.tekun.supporter), tekun.Placement(h.tekun.placement), level, standards()
        )
        assert assessed.eligible, assessed.reasons
        levels[level.value] += 1
    assert levels["self_care"] >= 1


def test_every_score_sheet_is_complete_and_gives_a_level(district: District) -> None:
    for sheet in district.assessments:
        scores = dict(sheet.scores)
        assert set(scores) == set(gbt.ITEMS)
        assert 0 <= gbt.assess(scores).level <= 4


@pytest.fixture(scope="module")
def tenth() -> District:
    """A tenth of the district (0.6 CPU-s): large enough for the shares the calibrations are about."""
    return population.generate(1, 0.1)


def test_the_80_plus_age_structure_pays_the_report_s_old_age_allowance(tenth: District) -> None:
    """The 80+ bands are calibrated so POLICY.md's assumed 30/100/500 yuan pay the report's 10.8536 M a year:
    January's allowance (before the year's deaths, which take 1-2% off the later months) is just above the
    report's month, 90+ are about 30% of the 80+ at load, centenarians a few per thousand, 79+ the insured 19,685."""
    d, scale = tenth, tenth.scale
    brackets = [
        allowance.Bracket(date(2022, 1, 1), 80, 89, Decimal(30)),
        allowance.Bracket(date(2022, 1, 1), 90, 99, Decimal(100)),
        allowance.Bracket(date(2022, 1, 1), 100, None, Decimal(500)),
    ]
    paid = [allowance.entitlement(p.birth_date, date(2022, 1, 1), brackets) for p in d.persons]
    paid = [e for e in paid if e.eligible]
    january = sum(e.monthly_amount for e in paid)
    assert 1.0 <= january / (Decimal("10853600") / 12 * Decimal(str(scale))) <= 1.03
    assert 0.28 <= sum(e.age >= 90 for e in paid) / len(paid) <= 0.32
    assert sum(e.age >= 100 for e in paid) / len(paid) <= 0.005
    insured = sum(p.age_on(population.LOAD_DATE) >= 79 for p in d.persons)
    assert abs(insured / (19_685 * scale) - 1) < 0.01


def test_the_year_s_new_dibao_households_have_the_caseload_s_sizes(tenth: District) -> None:
    """New applicants were couples while those leaving average 1.45 people: their sizes follow the caseload's."""
    d = tenth
    caseload = [len(h.members) for h in d.households_on(Program.DIBAO)]
    free = [h for h in d.households if h.program == Program.NONE]
    chosen = planning._new_dibao_households(d, random.Random(1), free, 400)
    sizes = [len(h.members) for h in chosen]
    assert sum(sizes) >= 400
    assert abs(mean(sizes) - mean(caseload)) < 0.1
    assert abs(sizes.count(1) / len(sizes) - caseload.count(1) / len(caseload)) < 0.1
    assert all(h.program == Program.NONE for h in chosen) and len({h.key for h in chosen}) == len(chosen)


# -- one load through the public APIs ------------------------------------------------------------


def test_a_tiny_district_loads_through_the_public_apis(tmp_path: Path) -> None:
    """Scale 0.002: every resident registered, dibao and tekun confirmed with the amounts the rules computed;
    a second load changes nothing."""
    d = population.generate(11, 0.002)
    out: list[str] = []
    with DistrictStack(tmp_path / "district") as stack:
        done = asyncio.run(load.load(d, stack, out.append))
        assert done["roster"].counts["accepted"] == len(d.persons), out
        held = asyncio.run(cases(stack))
        dibao_people = sum(len(h.members) for h in d.households_on(Program.DIBAO))
        assert held["dibao"] == dibao_people, out
        assert held["tekun"] == d.targets.tekun, out
        assert held["disability_care"] == len(d.disability_care), out
        again = asyncio.run(load.load(d, stack, out.append))
        assert again["roster"].counts["duplicate"] == len(d.persons)
        assert asyncio.run(cases(stack)) == held


async def cases(stack: DistrictStack) -> dict[str, int]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {stack.token}"}, timeout=30) as client:
        held = {}
        for program in ("dibao", "tekun", "orphan", "disability_living", "disability_care"):
            page = await client.get(stack.url("assistance") + "/v1/cases", params={"program": program, "limit": 1})
            held[program] = page.json()["total"]
        return held


def test_a_phase_reads_the_cpu_its_process_spent() -> None:
    """The loader's phases print CPU seconds from /proc: a busy 0.3 s of this process shows there."""
    before = stack_module._cpu(os.getpid())
    until = time.process_time() + 0.3
    while time.process_time() < until:
        pass
    assert 0.2 <= stack_module._cpu(os.getpid()) - before < 5


def test_no_resident_is_born_after_the_roster_day(district: District) -> None:
    """The registry refuses a birth after today: a baby drawn for the last week of 2021 would miss the roster of
    2021-12-24 (one resident in 116,457 did at full scale)."""
    builder = population._Builder(random.Random(3), 1.0, population.targets(1.0), [])
    births = [builder.birth_date(0) for _ in range(2_000)]
    assert max(births) == population.ASSESSED_ON  # the last week's draws are born on the roster's day
    assert min(births) > population.ASSESSED_ON.replace(year=2020)
    assert max(p.birth_date for p in district.persons) <= population.ASSESSED_ON
