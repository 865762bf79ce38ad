"""What happens in the district between two months: a pure, seeded schedule of life events.

The replay (`replay.py`) sends these through the partner topics and the HTTP APIs; this module only decides who,
what and when, from the District and a seed, so the same seed gives the same year. Amounts paid are never decided
here: an application carries the household's facts and the services compute the grant by their rules.

Rates are plausible figures for a Chinese district of this age structure (assumed, not from the report): annual
mortality by age band, one death in three reported by a second source, one in twelve late, a few reported in error.
The report's own counts (new dibao/tekun people, temporary grants, marriages) are scaled with the district.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from statistics import NormalDist

from services.district.model import District, Household, Person, Program
from shared import identity

# Annual probability of death by age band (assumed: China's 2020 life table, rounded).
MORTALITY: tuple[tuple[int, float], ...] = (
    (1, 0.005),
    (40, 0.001),
    (60, 0.004),
    (70, 0.010),
    (80, 0.030),
    (90, 0.080),
    (200, 0.200),
)
DEATH_SOURCES = ("hospital", "public_security", "funeral_home")
SECOND_SOURCE_SHARE = 0.35
LATE_SHARE = 0.08  # reported 20-60 days after the death
ERROR_SHARE = 0.004  # extra reports of a living person, revoked after review
MOVE_OUT_PER_YEAR = 0.004
MOVE_IN_PER_YEAR = 0.003
BIRTHS_PER_YEAR = 0.007
# The report's counts for January-October (issue 11), scaled with the district.
NEW_GUARANTEED_PEOPLE = 471
TEMPORARY_GRANTS = 391
# Of the new people, those who apply as tekun (elders alone): about as many as the tekun register loses in the year
# to deaths (its elders are old: about 48 of 1,781 by October) and moves (about 6), so October keeps the report's
# 1,781. At 8% (38 people) seed 1 left 1,766 (0.992), its support paid 0.994 of the report.
NEW_TEKUN_SHARE = 0.12
MARRIAGES_PER_MONTH = 2651 / 9
# Dibao households whose income passes the standard (gradual exit, 6 months). The register is steady (the report's
# October counts are those of the year before, give or take): the households whose gradual exit has ended by October
# (those of January to March or April), with the dibao deaths and moves, about balance the report's 471 new people,
# who come in households of the caseload's sizes. Counted from the plan at scale 1 (seed 1, October): 1.1% a month
# left 5,746 households / 8,323 people (1.018 / 1.014), 1.35% left 5,708 / 8,274; 1.6% leaves 5,669 / 8,210
# if the exits of January to March are out by October, 5,590 / 8,094 if those of April are too.
INCOME_RISE_SHARE_PER_MONTH = 0.016
INCOME_REPORT_SHARE_PER_MONTH = 0.05  # dibao members whose income a partner reports in a month
MEDICAL_SHARE_PER_MONTH = 0.02
# The documented needs of temporary-assistance applicants: lognormal, median about 2,530 yuan. With the rules (60%
# emergencies raised to 2x the standard, every grant capped at 10x) the grants average the report's 2,818 yuan
# (1.1018 M / 391); a median of 2,320 (mu 7.75) made them average 2,600.
TEMPORARY_NEED_MU = 7.835
TEMPORARY_NEED_SIGMA = 0.45
EMERGENCY_SHARE = 0.6
OUTSIDE_DIVISION = "340202001001"  # 镜湖区: where people move to and from (assumed)


@dataclass(frozen=True)
class DeathReport:
    day: date  # when the partner reports it
    id_number: str
    date_of_death: date
    source: str
    reference: str  # "ERR-…" marks a report made in error (the registrar revokes it)


@dataclass(frozen=True)
class Move:
    day: date
    id_number: str
    name: str
    kind: str  # move_out | move_in
    from_division: str
    to_division: str
    reference: str
    birth_date: date | None = None  # a newcomer (move_in) is registered first at the old address
    sex: str = "M"


@dataclass(frozen=True)
class Birth:
    day: date
    id_number: str
    name: str
    sex: str
    mother: str  # identity number: the baby joins her household
    division: str


@dataclass(frozen=True)
class Marriage:
    day: date
    party_a: str
    party_b: str
    certificate_no: str


@dataclass(frozen=True)
class IncomeReport:
    day: date
    id_number: str
    monthly_amount: Decimal
    period: str
    reference: str
    above_standard: bool = False  # the caseworker puts the household's cases into gradual exit


@dataclass(frozen=True)
class MedicalBill:
    day: date
    id_number: str
    amount: Decimal
    reference: str


@dataclass(frozen=True)
class Application:
    """An application submitted on `day`, reviewed two days later and confirmed after the notice."""

    day: date
    program: str  # dibao | tekun | temporary
    household: Household
    temporary_type: str | None = None
    need: Decimal | None = None
    lost_income: bool = False  # the household's situation: a wage lost, or the support a child sent stopped


@dataclass
class Plan:
    deaths: list[DeathReport] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    births: list[Birth] = field(default_factory=list)
    marriages: list[Marriage] = field(default_factory=list)
    incomes: list[IncomeReport] = field(default_factory=list)
    medical: list[MedicalBill] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    died: dict[str, date] = field(default_factory=dict)  # the truth: who dies when
    errors: set[str] = field(default_factory=set)  # living people reported dead in error

    def by_day(self) -> dict[date, dict[str, list[object]]]:
        """Everything that happens on each day, by kind, in the plan's fixed order."""
        kinds = {
            "deaths": self.deaths,
            "moves": self.moves,
            "births": self.births,
            "marriages": self.marriages,
            "incomes": self.incomes,
            "medical": self.medical,
            "applications": self.applications,
        }
        out: dict[date, dict[str, list[object]]] = {}
        for kind, items in kinds.items():
            for item in items:
                out.setdefault(item.day, {k: [] for k in kinds})[kind].append(item)  # type: ignore[attr-defined]
        return out

    def size(self) -> int:
        return sum(
            len(x)
            for x in (
                self.deaths,
                self.moves,
                self.births,
                self.marriages,
                self.incomes,
                self.medical,
                self.applications,
            )
        )


def days(start: date, end: date) -> Iterator[date]:
    """Every day from start to end inclusive."""
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def annual_mortality(age: int) -> float:
    return next(rate for upper, rate in MORTALITY if age < upper)


def make_plan(district: District, seed: int, start: date, end: date) -> Plan:
    """The schedule of the district's life from `start` to `end` (inclusive), the same for the same seed."""
    rng = random.Random(f"replay-{seed}-{start}-{end}")
    span = (end - start).days + 1
    plan = Plan()
    _deaths(plan, district, rng, start, end, span)
    busy = set(plan.died) | plan.errors  # the dead and the soon dead apply for nothing, marry nobody, move nowhere
    _moves(plan, district, rng, start, span, busy)
    busy |= {m.id_number for m in plan.moves}
    _births(plan, district, rng, start, span, busy)
    _marriages(plan, district, rng, start, span, busy)
    _incomes(plan, district, rng, start, end, busy)
    _applications(plan, district, rng, start, end, busy)
    for items in (plan.deaths, plan.moves, plan.births, plan.marriages, plan.incomes, plan.medical):
        items.sort(key=lambda x: x.day)  # type: ignore[attr-defined]
    plan.applications.sort(key=lambda a: a.day)
    return plan


def _day(rng: random.Random, start: date, span: int) -> date:
    return start + timedelta(days=rng.randrange(span))


def _deaths(plan: Plan, district: District, rng: random.Random, start: date, end: date, span: int) -> None:
    """Deaths by age band; one or two sources, a few late; a few living people reported in error."""
    for person in district.persons:
        rate = annual_mortality(person.age_on(start))
        if rng.random() >= 1 - (1 - rate) ** (span / 365):
            continue
        died = _day(rng, start, span)
        plan.died[person.id_number] = died
        late = rng.random() < LATE_SHARE
        reported = died + timedelta(days=rng.randint(20, 60) if late else rng.randint(0, 3))
        first, second = rng.sample(DEATH_SOURCES, 2)
        n = len(plan.deaths)
        if reported <= end:
            plan.deaths.append(DeathReport(reported, person.id_number, died, first, f"D-{seed_ref(n)}"))
            if rng.random() < SECOND_SOURCE_SHARE:
                again = reported + timedelta(days=rng.randint(1, 5))
                if again <= end:
                    plan.deaths.append(DeathReport(again, person.id_number, died, second, f"D-{seed_ref(n)}-2"))
    living = [p for p in district.persons if p.id_number not in plan.died]
    errors = max(1, round(len(plan.died) * ERROR_SHARE)) if plan.died else 0
    for k, person in enumerate(rng.sample(living, min(errors, len(living)))):
        day = _day(rng, start, max(1, span - 20))
        plan.deaths.append(DeathReport(day, person.id_number, day - timedelta(days=1), "hospital", f"ERR-{k:05d}"))
        plan.errors.add(person.id_number)


def seed_ref(n: int) -> str:
    return f"{n:07d}"


def _moves(plan: Plan, district: District, rng: random.Random, start: date, span: int, busy: set[str]) -> None:
    """Moves out of the district (a partner's hukou record) and newcomers moving in."""
    adults = [p for p in district.persons if p.id_number not in busy and p.age_on(start) >= 18]
    outs = round(len(district.persons) * MOVE_OUT_PER_YEAR * span / 365)
    for k, p in enumerate(rng.sample(adults, min(outs, len(adults)))):
        day = _day(rng, start, span)
        plan.moves.append(Move(day, p.id_number, p.name, "move_out", p.hukou_division, OUTSIDE_DIVISION, f"HO-{k:06d}"))
    ins = round(len(district.persons) * MOVE_IN_PER_YEAR * span / 365)
    divisions = sorted({p.hukou_division for p in district.persons})
    for k in range(ins):
        day = _day(rng, start, span)
        born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("MF")
        number = identity.make("340202", born, 2 * rng.randint(100, 449) + (1 if sex == "M" else 0))
        name = _name(rng)
        to = rng.choice(divisions)
        plan.moves.append(Move(day, number, name, "move_in", OUTSIDE_DIVISION, to, f"HI-{k:06d}", born, sex))


def _births(plan: Plan, district: District, rng: random.Random, start: date, span: int, busy: set[str]) -> None:
    mothers = [
        p
        for p in district.persons
        if p.sex == "F" and 22 <= p.age_on(start) <= 40 and p.id_number not in busy and p.relation in ("head", "spouse")
    ]
    n = round(len(district.persons) * BIRTHS_PER_YEAR * span / 365)
    used: set[str] = set()
    for k, mother in enumerate(rng.sample(mothers, min(n, len(mothers)))):
        day = _day(rng, start, span)
        sex = rng.choice("MF")
        seq = 500 + 2 * (k % 245) + (1 if sex == "M" else 0)  # three digits, odd for a boy
        number = identity.make(mother.hukou_division[:6], day, seq)
        if number in used:
            continue
        used.add(number)
        plan.births.append(Birth(day, number, _name(rng), sex, mother.id_number, mother.hukou_division))
    busy |= used


def _marriages(plan: Plan, district: District, rng: random.Random, start: date, span: int, busy: set[str]) -> None:
    """Couples among the unmarried young (the registry refuses under 22/20; none are drawn that young)."""
    singles = [p for p in district.persons if p.id_number not in busy and p.relation in ("child", "other")]
    men = [p for p in singles if p.sex == "M" and 23 <= p.age_on(start) <= 35]
    women = [p for p in singles if p.sex == "F" and 21 <= p.age_on(start) <= 35]
    scale = len(district.persons) / max(1, _full_population(district))
    n = min(len(men), len(women), round(MARRIAGES_PER_MONTH * scale * span / 30.4))
    for k, (a, b) in enumerate(zip(rng.sample(men, n), rng.sample(women, n), strict=True)):
        plan.marriages.append(Marriage(_day(rng, start, span), a.id_number, b.id_number, f"J340207-2022-{k:06d}"))
        busy |= {a.id_number, b.id_number}


def _full_population(district: District) -> int:
    """The population the district stands for at scale 1 (its persons divided by the scale)."""
    return round(len(district.persons) / district.scale) if district.scale else len(district.persons)


def _months(start: date, end: date) -> list[date]:
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = (d + timedelta(days=32)).replace(day=1)
    return out


def _incomes(plan: Plan, district: District, rng: random.Random, start: date, end: date, busy: set[str]) -> None:
    """Partners' income reports of dibao members (most unchanged, a few above the standard) and medical bills."""
    dibao = [h for h in district.households_on(Program.DIBAO) if not busy.intersection(h.members)]
    low = [m for h in dibao for m in h.members]
    for month in _months(start, end):
        last = min(end, (month + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        span = (last - month).days + 1
        period = f"{month:%Y-%m}"
        for k, number in enumerate(rng.sample(low, min(len(low), round(len(low) * INCOME_REPORT_SHARE_PER_MONTH)))):
            amount = Decimal(rng.randint(0, 600)).quantize(Decimal("0.01"))
            plan.incomes.append(IncomeReport(_day(rng, month, span), number, amount, period, f"I-{period}-{k:05d}"))
        rising = rng.sample(dibao, min(len(dibao), max(1, round(len(dibao) * INCOME_RISE_SHARE_PER_MONTH))))
        for k, h in enumerate(rising):
            amount = Decimal(rng.randint(2600, 4200) * max(1, len(h.members))).quantize(Decimal("0.01"))
            ref = f"IR-{period}-{k:05d}"
            plan.incomes.append(IncomeReport(_day(rng, month, span), h.members[0], amount, period, ref, True))
        for k, number in enumerate(rng.sample(low, min(len(low), round(len(low) * MEDICAL_SHARE_PER_MONTH)))):
            amount = Decimal(rng.choice((rng.randint(200, 3000), rng.randint(5000, 40000)))).quantize(Decimal("0.01"))
            plan.medical.append(MedicalBill(_day(rng, month, span), number, amount, f"M-{period}-{k:05d}"))


def _applications(plan: Plan, district: District, rng: random.Random, start: date, end: date, busy: set[str]) -> None:
    """New dibao and tekun households (people ≈ the report's 471, scaled) and temporary grants (391, scaled)."""
    scale = district.scale or 1.0
    last_submission = end - timedelta(days=20)  # confirmed before the end: review 2 days, notice 7
    span = max(1, (last_submission - start).days + 1)
    free = [h for h in district.households if h.program == Program.NONE and not busy.intersection(h.members)]
    rng.shuffle(free)
    singles_old = [h for h in free if len(h.members) == 1 and district.person(h.members[0]).age_on(start) >= 60]
    wanted = max(1, round(NEW_GUARANTEED_PEOPLE * scale))
    people = 0
    tekun = singles_old[: max(1, round(len(singles_old) and wanted * NEW_TEKUN_SHARE))]
    for h in tekun:
        plan.applications.append(Application(_day(rng, start, span), "tekun", h))
        people += 1
    taken = {h.key for h in tekun}
    for h in _new_dibao_households(district, rng, [h for h in free if h.key not in taken], wanted - people):
        taken.add(h.key)
        plan.applications.append(Application(_day(rng, start, span), "dibao", h, lost_income=True))
        people += len(h.members)
    grants = max(1, round(TEMPORARY_GRANTS * scale))
    pool = district.households_on(Program.DIBAO) + [h for h in free if h.key not in taken]
    pool = [h for h in pool if not busy.intersection(h.members)]
    households = rng.sample(pool, min(grants, len(pool)))
    for h, (kind, need) in zip(households, temporary_needs(rng, len(households)), strict=True):
        day = start + timedelta(days=rng.randrange(max(1, (end - start).days - 5)))
        plan.applications.append(Application(day, "temporary", h, temporary_type=kind, need=need))


def _new_dibao_households(
    district: District, rng: random.Random, free: list[Household], people: int
) -> list[Household]:
    """Households applying for dibao, `people` members in all, their sizes drawn from the standing caseload's.

    Couples only (the marginal families) made every new household two people while those leaving average 1.45, and
    the October caseload grew 2% in people with its households steady. Marginal families come first at each size,
    then others with no institution place (elders alone, families); a size with none left takes the nearest.
    """
    sizes = [len(h.members) for h in district.households_on(Program.DIBAO)] or [1]
    placed = {n for i in district.institutions for n in i.residents}
    by_size: dict[int, list[Household]] = {}
    for h in [h for h in free if h.marginal] + [h for h in free if not h.marginal]:
        if not placed.intersection(h.members):
            by_size.setdefault(len(h.members), []).append(h)
    chosen: list[Household] = []
    while people > 0 and any(by_size.values()):
        size = rng.choice(sizes)
        nearest = min((s for s, pool in by_size.items() if pool), key=lambda s: (abs(s - size), s))
        h = by_size[nearest].pop(0)
        chosen.append(h)
        people -= len(h.members)
    return chosen


def temporary_needs(rng: random.Random, n: int) -> list[tuple[str, Decimal]]:
    """n (type, documented need) pairs: the lognormal's n quantiles, emergencies spread evenly over them, shuffled.

    Quantiles, not n random draws: 39 grants (scale 0.1) drawn at random averaged 2,547 yuan where the distribution
    gives 2,818 (a 10% sampling error); its quantiles give the distribution's average at any scale.
    """
    spread = NormalDist(TEMPORARY_NEED_MU, TEMPORARY_NEED_SIGMA)
    out = []
    for k in range(n):
        need = Decimal(round(math.exp(spread.inv_cdf((k + 0.5) / n)))).quantize(Decimal("0.01"))
        emergency = math.floor((k + 1) * EMERGENCY_SHARE) > math.floor(k * EMERGENCY_SHARE)
        out.append(("emergency" if emergency else "expenditure", need))
    rng.shuffle(out)
    return out


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰建华志强丽娟国庆海燕文明玉梅永红春花德明小军"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def person_of(district: District, id_number: str) -> Person:
    return district.person(id_number)
