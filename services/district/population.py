"""Generate the synthetic 鸠江区 for a seed: the populations of the bureau's 2022 report, as facts, not amounts.

Deterministic: one `random.Random(seed)` draws everything, in a fixed order,
over lists (never sets), so the same seed and scale give the same `District`.
`scale` shrinks every count of the report proportionally (at least one of each).

What is typed in is what a caseworker would find: ages, households, incomes by
kind, rigid expenses, assets, disability certificates, ADL score sheets. The
amounts come out of the services' rules. The counted incomes of dibao
households are chosen so that those rules (standard 800 − per-capita income,
plus the 分类施保 add-on of the seeded standards) average the report's payment
per person ((66.641 − 1.459) M ÷ 10 ÷ 8,204 = 794.51); the tekun care levels are
drawn so that the basic standard plus the care subsidies average about 1,065.

Community codes (town code + 3 digits) and names are this generator's own:
POLICY.md gives the towns only and allows the seed to assign communities.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from services.district.model import (
    LOAD_DATE,
    TOWNS,
    Assets,
    CapacityAssessment,
    Disability,
    District,
    Household,
    Income,
    Institution,
    MemberFinances,
    Ownership,
    Person,
    Program,
    RigidExpense,
    Targets,
    Tekun,
)
from shared.identity import make

# The day applications are assessed on: the loader submits them then, so that after the 7-day public
# notice they are confirmed by 2021-12-31 and paid from January 2022.
ASSESSED_ON = date(2021, 12, 24)

# The rules' figures the incomes are calibrated on (the seeded standards of assistance, 2022-01-01).
DIBAO_STANDARD = 800
DIBAO_FLOOR = 50
ADDON_SHARE = {"elderly": Decimal("0.10"), "minor": Decimal("0.10"), "severe": Decimal("0.20"), "ill": Decimal("0.20")}
EMPLOYMENT_COST_CAP = 200
ELDERLY_AGE = 60
# The report's dibao payment per month, January-October without the one-off subsidies: (66.641 - 1.459) M / 10.
DIBAO_MONTHLY_TOTAL = Decimal("6518200")
DIBAO_PEOPLE = 8204
# The ten months pay more person-months than ten of the loaded caseload: the year's new people are paid from the
# month after their confirmation (elders left with no counted income: about 880 yuan each), and a household leaving
# by gradual exit is paid six months more, so the caseload swells through the summer before the exits of January to
# April end. The amounts in force at load are this share of the report's monthly average, so that the ten months
# come to its (66.641 - 1.459) M: 785.38 a person, counted from the plan at scale 1, seed 1 (at 1, the count gave
# 1.0138 of the report where the system paid 1.0136 of it).
DIBAO_IN_FORCE_SHARE = Decimal("0.9885")
# Dibao households headed by someone 60+ (exactly this share of them, not a coin per household, whose draws moved
# the count by dozens between runs at scale 1): their members 60+ still on dibao in October (once the year's
# deaths, moves and ended gradual exits are out), the year's new people (about 470, nearly all elders: plan.py)
# and the 60+ dispersed tekun (about 1,250) make the report's 3,290 insured elders (POLICY.md: 60+ dibao and
# dispersed tekun). Counted from the plan at scale 1, seed 1: 3,274 (0.995); at 20.5% with a coin per household
# the system's roster held 3,210 (0.976). Scale 0.1 counts 340 (1.033): a tenth of the households and draws.
DIBAO_ELDER_HEAD_SHARE = 0.23

# Residents aged 60+ by band (about 104,000): (first age, last age, residents, the share each year of age keeps of
# the one before). The report's 19,685 insured "80+" include those aged 79 (本区户籍80周岁以上(含79-80岁)): alive in
# October, 79+ are about 19,700, so 80+ alone about 17,600 (bands at load, before a year of ageing and deaths).
# The 80+ age structure is calibrated, as the dibao incomes are, so that the rules pay the report's old-age allowance
# (10.8536 M a year: 904,467 yuan a month) at POLICY.md's assumed 30 / 100 / 500 yuan: the 79-year-olds are insured
# but not paid, so the ~17,600 paid average about 51 yuan, which takes 28.6% of the 80+ aged 90+ in October
# (China's 2020 census: about 17-18%) with centenarians at 0.33% (census: about 0.3%). Within 90-99 each year keeps
# 0.7 of the one before (mortality of 25-30% a year at those ages), so few 99-year-olds turn 100 in the year.
# The 60-69 band takes up the difference so the 60+ stay about 104,000. README's district section says so.
AGE_BANDS: tuple[tuple[int, int, int, float], ...] = (
    (60, 69, 52_819, 0.9),
    (70, 79, 33_500, 0.9),
    (80, 89, 12_316, 0.9),
    (90, 99, 5_350, 0.7),
    (100, 104, 15, 0.9),
)
REPORT = Targets(
    residents_60_plus=104_000,
    residents_80_plus=17_500,
    dibao_households=5_647,
    dibao_people=8_204,
    tekun=1_781,
    orphans=60,
    disability_living=4_020,
    disability_care=8_337,
    institutions=17,
    beds=2_110,
    institution_residents=854,
    anti_poverty_households=104,
    anti_poverty_people=243,
    anti_poverty_on_dibao=113,
    anti_poverty_on_tekun=5,
)
# Tekun care levels (centralised full, centralised partial, dispersed full, dispersed partial) as shares of all
# tekun: with the basic standard 1,040 and the care shares of the 1,650 minimum wage they average about 1,065.
TEKUN_CARE_SHARES = {
    ("centralised", 5): 0.006,
    ("centralised", 2): 0.013,
    ("dispersed", 5): 0.010,
    ("dispersed", 2): 0.024,
}
TEKUN_CENTRALISED_SHARE = 0.17
MARGINAL_HOUSEHOLDS = 1_200  # 低保边缘 families known to monitoring (not in the report: assumed)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_M = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣建国荣德福生文"
GIVEN_F = "芳娜敏静丽艳娟霞秀英玲桂兰萍红梅琴云莲珍凤洁燕彩春菊慧婷雪淑"
DISABILITY_KINDS = ("physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple")
# Identity-number prefixes: most residents were first registered here; some under an older or another county's code.
PREFIXES = ("340207",) * 17 + ("340202", "340221", "342622")
ADL_ITEMS = ("eating", "dressing_upper", "bed_chair_transfer", "toileting", "walking_on_level", "bathing")


def scaled(count: int, scale: float) -> int:
    """A report count at `scale`: proportional, at least one."""
    return max(1, round(count * scale))


def targets(scale: float) -> Targets:
    """The report's counts at `scale`; the 60+ and 80+ totals follow the age bands."""
    bands = band_counts(scale)
    return Targets(
        **{k: scaled(v, scale) for k, v in REPORT.__dict__.items()}
        | {
            "residents_60_plus": sum(n for _, _, n, _ in bands),
            "residents_80_plus": sum(n for lo, _, n, _ in bands if lo >= 80),
        }
    )


def band_counts(scale: float) -> list[tuple[int, int, int, float]]:
    return [(lo, hi, round(n * scale), decay) for lo, hi, n, decay in AGE_BANDS]


@dataclass
class _Builder:
    """The mutable state of one generation: the random source, numbers used, the 60+ age pool, what is built."""

    rng: random.Random
    scale: float
    target: Targets
    elder_ages: list[int]
    used_numbers: dict[str, None] = field(default_factory=dict)
    persons: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    communities: dict[str, list[str]] = field(default_factory=dict)

    # -- people --------------------------------------------------------------------------------

    def birth_date(self, age: int) -> date:
        """A birth date giving `age` on LOAD_DATE, and on or before the roster's day (a baby born in the last
        week of 2021 could not be on the register of 2021-12-24: the registry refuses a birth after today)."""
        latest = date(LOAD_DATE.year - age, LOAD_DATE.month, LOAD_DATE.day)
        return min(latest - timedelta(days=self.rng.randrange(365)), ASSESSED_ON)

    def id_number(self, born: date, sex: str) -> str:
        prefix = self.rng.choice(PREFIXES)
        while True:
            sequence = self.rng.randrange(0, 999)
            if (sequence % 2 == 1) != (sex == "M"):
                sequence += 1
            number = make(prefix, born, sequence)
            if number not in self.used_numbers:
                self.used_numbers[number] = None
                return number

    def name(self, sex: str, surname: str | None = None) -> str:
        given = GIVEN_M if sex == "M" else GIVEN_F
        length = 1 if self.rng.random() < 0.35 else 2
        return (surname or self.rng.choice(SURNAMES)) + "".join(self.rng.choice(given) for _ in range(length))

    def elder_age(self, minimum: int = ELDERLY_AGE) -> int:
        """Take an age from the 60+ pool (so the district's age structure stays the report's)."""
        for i in range(len(self.elder_ages) - 1, -1, -1):
            if self.elder_ages[i] >= minimum:
                return self.elder_ages.pop(i)
        return minimum  # the pool is spent (tiny scales): one more elder than the bands

    def person(
        self,
        household: str,
        division: str,
        relation: str,
        age: int,
        sex: str | None = None,
        surname: str | None = None,
        **facts: object,
    ) -> Person:
        sex = sex or self.rng.choice("MF")
        born = self.birth_date(age)
        p = Person(
            self.id_number(born, sex),
            self.name(sex, surname),
            sex,
            born,
            division,
            household,
            relation,
            **facts,  # type: ignore[arg-type]
        )
        self.persons.append(p)
        return p

    # -- places --------------------------------------------------------------------------------

    def division(self, rural: bool | None = None) -> str:
        towns = [t for t in TOWNS if rural is None or (t[6] == "1") == rural]
        town = self.rng.choices(towns, weights=[3 if t[6] == "0" else 2 for t in towns])[0]
        return self.rng.choice(self.communities[town])

    def household_key(self) -> str:
        return f"H{len(self.households) + 1:06d}"

    def disability(self, severe: bool | None = None) -> Disability:
        grade = self.rng.randint(1, 2) if severe else self.rng.randint(3, 4) if severe is False else None
        if grade is None:
            grade = self.rng.choices((1, 2, 3, 4), weights=(2, 3, 3, 2))[0]
        return Disability(grade, self.rng.choice(DISABILITY_KINDS))


def generate(seed: int, scale: float = 1.0) -> District:
    """The district for `seed`, every count of the report multiplied by `scale`."""
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    rng = random.Random(seed)
    ages = [age for lo, hi, n, decay in band_counts(scale) for age in _band_ages(rng, lo, hi, n, decay)]
    rng.shuffle(ages)
    b = _Builder(rng, scale, targets(scale), ages)
    b.communities = {t: [t + f"{i:03d}" for i in range(1, (13 if t[6] == "0" else 16))] for t in TOWNS}
    dibao = _dibao(b)
    tekun = _tekun(b)
    _orphans(b)
    _severely_disabled(b, dibao, tekun)
    _anti_poverty(b)
    _marginal(b)
    _general_elders(b)
    institutions = _institutions(b)
    assessments = _assessments(b, institutions)
    living = tuple(p.id_number for p in b.persons if p.disability and _on(b, p) == Program.DIBAO)
    care = tuple(p.id_number for p in b.persons if p.disability and p.disability.severe)
    return District(
        seed, scale, b.target, tuple(b.persons), tuple(b.households), institutions, assessments, living, care
    )


def _band_ages(rng: random.Random, lo: int, hi: int, n: int, decay: float) -> list[int]:
    """n ages in [lo, hi], each older year `decay` times as many as the one before (mortality)."""
    years = list(range(lo, hi + 1))
    return rng.choices(years, weights=[decay**i for i in range(len(years))], k=n)


def _on(b: _Builder, p: Person) -> Program:
    index = int(p.household_key[1:]) - 1
    return b.households[index].program


# -- dibao ---------------------------------------------------------------------------------------


def _dibao(b: _Builder) -> list[Household]:
    """5,647 households of 8,204 members; 4,020 members hold a disability certificate (the living subsidy)."""
    n_households, n_people = b.target.dibao_households, max(b.target.dibao_people, b.target.dibao_households)
    sizes = [1] * n_households
    for _ in range(n_people - n_households):
        while True:
            i = b.rng.randrange(n_households)
            if sizes[i] < 5:
                sizes[i] += 1
                break
    disabled_left = min(b.target.disability_living, n_people)
    slots = [True] * disabled_left + [False] * (n_people - disabled_left)
    b.rng.shuffle(slots)
    members_facts: list[list[dict[str, object]]] = []
    k = 0
    for size in sizes:
        facts = []
        for _ in range(size):
            facts.append({"disabled": slots[k]})
            k += 1
        members_facts.append(facts)
    elder_heads = round(DIBAO_ELDER_HEAD_SHARE * n_households)
    heads = [True] * elder_heads + [False] * (n_households - elder_heads)
    b.rng.shuffle(heads)
    plans = [
        _dibao_people(b, size, facts, elder) for size, facts, elder in zip(sizes, members_facts, heads, strict=True)
    ]
    incomes = _dibao_incomes(b, plans)
    built = []
    for (key, division, people), per_capita in zip(plans, incomes, strict=True):
        built.append(_dibao_household(b, key, division, people, per_capita))
    return built


def _dibao_people(
    b: _Builder, size: int, facts: list[dict[str, object]], elder_head: bool
) -> tuple[str, str, list[Person]]:
    key, division = b.household_key(), b.division()
    b.households.append(Household(key, division, (), ()))  # placeholder, replaced once incomes are known
    surname = b.rng.choice(SURNAMES)
    head_age = b.elder_age() if elder_head else b.rng.randint(30, 59)
    relations = ["head"] + _family_relations(b, size - 1, head_age)
    people = []
    for i, relation in enumerate(relations):
        age = _relative_age(b, relation, head_age)
        disability = b.disability() if facts[i]["disabled"] else None
        ill = b.rng.random() < 0.10
        working = ELDERLY_AGE > age >= 18
        capacity = "full"
        if disability or ill or not working:
            capacity = "none" if (disability and disability.grade <= 2) or age >= ELDERLY_AGE or age < 16 else "partial"
        person = b.person(
            key,
            division,
            relation,
            age,
            sex=None if relation != "spouse" else ("F" if people[0].sex == "M" else "M"),
            surname=surname if relation in ("head", "child", "grandchild") else None,
            disability=disability,
            seriously_ill=ill,
            labour_capacity=capacity,
        )
        people.append(person)
    return key, division, people


def _family_relations(b: _Builder, extra: int, head_age: int) -> list[str]:
    relations: list[str] = []
    if extra and b.rng.random() < 0.7:
        relations.append("spouse")
    while len(relations) < extra:
        relations.append("child" if head_age < 75 or b.rng.random() < 0.5 else "grandchild")
    return relations


def _relative_age(b: _Builder, relation: str, head_age: int) -> int:
    if relation == "head":
        return head_age
    if relation == "spouse":
        age = head_age + b.rng.randint(-4, 4)
        return b.elder_age() if age >= ELDERLY_AGE else max(age, 22)
    if relation == "child":
        age = max(0, head_age - b.rng.randint(24, 34))
        return b.elder_age() if age >= ELDERLY_AGE else age
    return b.rng.randint(2, 17)  # grandchild


def _addon(p: Person) -> int:
    """The 分类施保 add-on the seeded standards give a member (the highest that applies), whole yuan."""
    age = p.age_on(ASSESSED_ON)
    shares = [Decimal(0)]
    if age >= ELDERLY_AGE:
        shares.append(ADDON_SHARE["elderly"])
    if age < 18:
        shares.append(ADDON_SHARE["minor"])
    d = p.disability
    if d and (d.grade <= 2 or (d.grade == 3 and d.kind in ("intellectual", "mental"))):
        shares.append(ADDON_SHARE["severe"])
    if p.seriously_ill:
        shares.append(ADDON_SHARE["ill"])
    return int(max(shares) * DIBAO_STANDARD)


def _dibao_incomes(b: _Builder, plans: list[tuple[str, str, list[Person]]]) -> list[int]:
    """Per-capita counted income of each household (whole yuan) so that the rule's amounts average the report's.

    Amount of a household = Σ members (800 − per-capita + add-on), so the incomes must sum to
    800 × people + Σ add-ons − the report's total (at this scale). About a third of the households
    earn something; a single-person household takes up the last yuan.
    """
    people = sum(len(p) for *_, p in plans)
    addons = sum(_addon(m) for *_, members in plans for m in members)
    wanted = (DIBAO_MONTHLY_TOTAL * DIBAO_IN_FORCE_SHARE * people / DIBAO_PEOPLE).to_integral_value()
    budget = int(DIBAO_STANDARD * people + addons - wanted)
    per_capita = [0] * len(plans)
    earners = [i for i in range(len(plans)) if b.rng.random() < 0.35] or [0]
    weights = [b.rng.uniform(0.3, 1.7) for _ in earners]
    unit = budget / sum(w * len(plans[i][2]) for w, i in zip(weights, earners, strict=True)) if budget > 0 else 0
    ceiling = DIBAO_STANDARD - DIBAO_FLOOR  # every member's base + add-on stays above the floor
    for w, i in zip(weights, earners, strict=True):
        per_capita[i] = min(int(w * unit), ceiling)
    rest = budget - sum(pc * len(plans[i][2]) for i, pc in enumerate(per_capita))
    singles = [i for i in range(len(plans)) if len(plans[i][2]) == 1] or [0]
    step = 0
    while rest and step < 100 * len(singles):
        i = singles[step % len(singles)]
        delta = 1 if rest > 0 else -1
        if 0 <= per_capita[i] + delta <= ceiling:
            per_capita[i] += delta
            rest -= delta
        step += 1
    return per_capita


def _dibao_household(b: _Builder, key: str, division: str, people: list[Person], per_capita: int) -> Household:
    """The household's incomes: counted ones netting to size × per_capita, plus pensions that are not counted."""
    net = per_capita * len(people)
    finances = [MemberFinances() for _ in people]
    expenses: list[RigidExpense] = []
    for i, p in enumerate(people):
        if p.age_on(ASSESSED_ON) >= ELDERLY_AGE:
            finances[i] = MemberFinances((Income("basic_pension", Decimal(b.rng.choice((123, 138, 153)))),))
    if net:
        workers = [i for i, p in enumerate(people) if p.labour_capacity != "none" and 18 <= p.age_on(ASSESSED_ON)]
        if workers and b.rng.random() < 0.7:
            i = workers[0]
            cost = b.rng.choice((100, 150, 200))
            medical = b.rng.choice((0, 0, 120, 260))
            if medical:
                expenses.append(RigidExpense(i, "medical", Decimal(medical)))
            wage = Income("wage", Decimal(net + cost + medical))
            finances[i] = MemberFinances((*finances[i].incomes, wage), Decimal(cost))
        else:
            kind = b.rng.choice(("transfer", "transfer", "business", "property"))
            finances[0] = MemberFinances(
                (*finances[0].incomes, Income(kind, Decimal(net))), finances[0].employment_cost
            )
    assets = Assets(Decimal(b.rng.randrange(0, 6000, 100)), homes=1 if b.rng.random() < 0.8 else 0)
    household = Household(
        key,
        division,
        tuple(p.id_number for p in people),
        tuple(finances),
        tuple(expenses),
        assets,
        Program.DIBAO,
    )
    b.households[int(key[1:]) - 1] = household
    return household


# -- tekun, orphans, disabilities ----------------------------------------------------------------


def _tekun(b: _Builder) -> list[Household]:
    """1,781 people alone: 三无 (no ability to work, income below the standard, no able supporter)."""
    n = b.target.tekun
    levels: list[tuple[str, int]] = []
    for (placement, failed), share in TEKUN_CARE_SHARES.items():
        levels += [(placement, failed)] * round(share * n)
    centralised = max(round(TEKUN_CENTRALISED_SHARE * n), sum(1 for p, _ in levels if p == "centralised"))
    centralised_self_care = centralised - sum(1 for p, _ in levels if p == "centralised")
    levels += [("centralised", 0)] * centralised_self_care
    levels += [("dispersed", 0)] * (n - len(levels))
    b.rng.shuffle(levels)
    built = []
    for placement, failed in levels[:n]:
        key, division = b.household_key(), b.division()
        elder = b.rng.random() < 0.85
        age = b.elder_age(ELDERLY_AGE + 1) if elder else b.rng.randint(20, 59)  # 60 on the day assessed
        disability = b.disability(severe=True) if not elder else (b.disability() if b.rng.random() < 0.2 else None)
        if disability and not elder and disability.kind not in ("intellectual", "mental", "physical"):
            disability = Disability(disability.grade, "physical")
        person = b.person(key, division, "head", age, disability=disability, labour_capacity="none")
        incomes = (Income("basic_pension", Decimal(b.rng.choice((123, 138, 153)))),) if elder else ()
        if b.rng.random() < 0.3:
            incomes += (Income("transfer", Decimal(b.rng.randrange(50, 400, 10))),)
        tekun = Tekun(b.rng.choice(("none", "none", "unable")), placement, failed)
        program = Program.TEKUN_CENTRALISED if placement == "centralised" else Program.TEKUN_DISPERSED
        household = Household(
            key,
            division,
            (person.id_number,),
            (MemberFinances(incomes),),
            assets=Assets(Decimal(b.rng.randrange(0, 3000, 100))),
            program=program,
            tekun=tekun,
        )
        b.households.append(household)
        built.append(household)
    return built


def _orphans(b: _Builder) -> None:
    """60 children, orphans or de-facto orphans, each living with a grandparent (dispersed)."""
    for _ in range(b.target.orphans):
        key, division = b.household_key(), b.division()
        surname = b.rng.choice(SURNAMES)
        head = b.person(key, division, "head", b.elder_age(), surname=surname, labour_capacity="none")
        child = b.person(key, division, "grandchild", b.rng.randint(1, 16), surname=surname)
        finances = (MemberFinances((Income("basic_pension", Decimal(138)),)), MemberFinances())
        b.households.append(
            Household(key, division, (head.id_number, child.id_number), finances, program=Program.ORPHAN)
        )


def _severely_disabled(b: _Builder, dibao: list[Household], tekun: list[Household]) -> None:
    """Grade 1-2 certificates up to the report's 8,337 care subsidies: elders alone and adults living with a parent."""
    have = sum(1 for p in b.persons if p.disability and p.disability.severe)
    for _ in range(max(0, b.target.disability_care - have)):
        key, division = b.household_key(), b.division()
        surname = b.rng.choice(SURNAMES)
        if b.rng.random() < 0.55:
            p = b.person(key, division, "head", b.elder_age(), disability=b.disability(True), labour_capacity="none")
            members, finances = (p.id_number,), (MemberFinances((Income("basic_pension", Decimal(153)),)),)
        else:
            age = b.rng.randint(18, 55)
            parent = b.person(key, division, "head", min(age + b.rng.randint(22, 32), 59), surname=surname)
            child = b.person(
                key, division, "child", age, surname=surname, disability=b.disability(True), labour_capacity="none"
            )
            members = (parent.id_number, child.id_number)
            finances = (MemberFinances((Income("wage", Decimal(b.rng.randrange(2500, 6000, 100))),)), MemberFinances())
        b.households.append(Household(key, division, members, finances))


def _anti_poverty(b: _Builder) -> None:
    """104 households / 243 people on the monitoring list: 113 on dibao, 5 on tekun, the rest rural families."""
    t = b.target
    flagged_people = 0
    for i, h in enumerate(b.households):
        if h.program == Program.DIBAO and len(h.members) >= 2 and h.division[6] == "1":
            if flagged_people + len(h.members) <= t.anti_poverty_on_dibao:
                b.households[i] = _flag(h)
                flagged_people += len(h.members)
    for i, h in enumerate(b.households):
        if h.program == Program.DIBAO and not h.anti_poverty and flagged_people < t.anti_poverty_on_dibao:
            if flagged_people + len(h.members) <= t.anti_poverty_on_dibao:
                b.households[i] = _flag(h)
                flagged_people += len(h.members)
    tekun_flagged = 0
    for i, h in enumerate(b.households):
        if h.tekun and tekun_flagged < t.anti_poverty_on_tekun and h.program == Program.TEKUN_DISPERSED:
            b.households[i] = _flag(h)
            tekun_flagged += 1
    households = sum(1 for h in b.households if h.anti_poverty)
    others = max(1, t.anti_poverty_households - households)
    people = max(others, t.anti_poverty_people - flagged_people - tekun_flagged)
    sizes = [1] * others
    for _ in range(people - others):
        sizes[b.rng.randrange(others)] += 1
    for size in sizes:
        _rural_family(b, size)


def _flag(h: Household) -> Household:
    return Household(**{**h.__dict__, "anti_poverty": True})


def _rural_family(b: _Builder, size: int) -> None:
    """A family out of poverty but at risk (脱贫不稳定户): a worker's wage, per-capita just above the standard."""
    key, division = b.household_key(), b.division(rural=True)
    surname = b.rng.choice(SURNAMES)
    head_age = b.rng.randint(38, 58)
    relations = ["head"] + (["spouse"] if size > 1 else []) + ["child"] * max(0, size - 2)
    people = []
    for relation in relations:
        age = head_age if relation == "head" else _relative_age(b, relation, head_age)
        sex = None if relation != "spouse" else ("F" if people[0].sex == "M" else "M")
        people.append(
            b.person(key, division, relation, age, sex=sex, surname=surname if relation != "spouse" else None)
        )
    wage = Decimal(b.rng.randrange(850, 1100, 10) * size)
    finances = (MemberFinances((Income("wage", wage),)),) + tuple(MemberFinances() for _ in people[1:])
    b.households.append(Household(key, division, tuple(p.id_number for p in people), finances, anti_poverty=True))


def _marginal(b: _Builder) -> None:
    """低保边缘 families (assumed count): elderly couples whose per-capita income lies between 1.0 and 1.5 standards."""
    for _ in range(round(MARGINAL_HOUSEHOLDS * b.scale)):
        key, division = b.household_key(), b.division()
        surname = b.rng.choice(SURNAMES)
        head = b.person(key, division, "head", b.elder_age(), sex="M", surname=surname, labour_capacity="none")
        spouse_age = b.elder_age() if b.elder_ages else 60
        spouse = b.person(key, division, "spouse", spouse_age, sex="F", labour_capacity="none")
        income = Decimal(b.rng.randrange(1650, 2350, 10))
        finances = (MemberFinances((Income("transfer", income),)), MemberFinances())
        b.households.append(Household(key, division, (head.id_number, spouse.id_number), finances, marginal=True))


def _general_elders(b: _Builder) -> None:
    """The rest of the 60+ pool: couples of neighbouring ages (about 55% of elders) and elders living alone."""
    ages = sorted(b.elder_ages, reverse=True)
    b.elder_ages = []
    i = 0
    while i < len(ages):
        key, division = b.household_key(), b.division()
        if i + 1 < len(ages) and b.rng.random() < 0.38:
            surname = b.rng.choice(SURNAMES)
            head = b.person(key, division, "head", ages[i], sex="M", surname=surname)
            spouse = b.person(key, division, "spouse", ages[i + 1], sex="F")
            members: tuple[str, ...] = (head.id_number, spouse.id_number)
            i += 2
        else:
            sex = "F" if b.rng.random() < 0.6 else "M"
            members = (b.person(key, division, "head", ages[i], sex=sex).id_number,)
            i += 1
        b.households.append(Household(key, division, members, tuple(MemberFinances() for _ in members)))


# -- institutions and assessments ----------------------------------------------------------------


def _institutions(b: _Builder) -> tuple[Institution, ...]:
    """17 institutions (5 public, 2 of them run privately; 12 private), 2,110 beds, about 854 residents.

    Centralised tekun live in the public ones; the other residents are elders 75+ of the general population.
    """
    t = b.target
    n = t.institutions
    public = max(1, round(n * 5 / 17))
    kinds = [Ownership.PUBLIC_BUILT_PRIVATE_RUN if i in (1, 2) else Ownership.PUBLIC for i in range(public)]
    kinds += [Ownership.PRIVATE] * (n - public)
    weights = [2.0 if k != Ownership.PRIVATE else 1.0 for k in kinds]
    beds = [max(10, int(t.beds * w / sum(weights))) for w in weights]
    beds[0] += t.beds - sum(beds)
    centralised = [h.members[0] for h in b.households if h.program == Program.TEKUN_CENTRALISED]
    public_beds = sum(beds[i] for i, k in enumerate(kinds) if k != Ownership.PRIVATE)
    if len(centralised) > public_beds:
        beds[0] += len(centralised) - public_beds
    residents: list[list[str]] = [[] for _ in kinds]
    slot = 0
    for number in centralised:
        while kinds[slot] == Ownership.PRIVATE or len(residents[slot]) >= beds[slot]:
            slot += 1
        residents[slot].append(number)
    others = [
        p.id_number
        for p in b.persons
        if p.age_on(LOAD_DATE) >= 75 and _on(b, p) == Program.NONE and not p.disability and p.relation == "head"
    ]
    b.rng.shuffle(others)
    wanted = max(0, t.institution_residents - len(centralised))
    order = list(range(len(kinds)))
    for number in others[:wanted]:
        free = [i for i in order if len(residents[i]) < beds[i]]
        if not free:
            break
        residents[b.rng.choice(free)].append(number)
    return tuple(
        Institution(_institution_name(i, kinds[i]), kinds[i], b.division(), beds[i], tuple(residents[i]))
        for i in range(n)
    )


def _institution_name(i: int, kind: Ownership) -> str:
    if kind == Ownership.PRIVATE:
        return f"鸠江区第{i + 1}民办养老院"
    return f"鸠江区第{i + 1}敬老院" + ("(公建民营)" if kind == Ownership.PUBLIC_BUILT_PRIVATE_RUN else "")


def _assessments(b: _Builder, institutions: tuple[Institution, ...]) -> tuple[CapacityAssessment, ...]:
    """A GB/T score sheet for every tekun person (its level makes the care level) and every institution resident."""
    level_of: dict[str, tuple[int, int | None]] = {}
    for h in b.households:
        if h.tekun:
            level_of[h.members[0]] = (TEKUN_LEVEL[h.tekun.adl_items_failed], h.tekun.adl_items_failed)
    for inst in institutions:
        for number in inst.residents:
            level_of.setdefault(number, (b.rng.choice((0, 1, 1, 2, 2, 3, 4)), None))
    sheets = []
    for number, (level, failed) in level_of.items():
        day = ASSESSED_ON - timedelta(days=b.rng.randrange(1, 60))
        sheets.append(CapacityAssessment(number, day, _scores(b.rng, level, failed)))
    return tuple(sheets)


# A tekun person's ADL items failed (Tekun.adl_items_failed) → the GB/T level their sheet is drawn for: self-care
# 0-1, partial care (半护理) 2, full care (全护理) 3-4, as RULES.md §5.2 maps them.
TEKUN_LEVEL = {0: 1, 1: 2, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4}
LEVEL_TOTALS = {0: (90, 90), 1: (66, 89), 2: (46, 65), 3: (30, 45), 4: (10, 29)}
ADL_FAILED_BY_LEVEL = {0: (0, 0), 1: (0, 0), 2: (1, 3), 3: (4, 5), 4: (5, 6)}


# GB/T 42195-2022 items and their maxima, in the standard's order (as eldercare's domain lists them).
GBT_ITEMS: tuple[tuple[str, int], ...] = (
    ("eating", 4),
    ("grooming", 4),
    ("bathing", 4),
    ("dressing_upper", 4),
    ("dressing_lower", 4),
    ("bladder_control", 4),
    ("bowel_control", 4),
    ("toileting", 4),
    ("bed_position_change", 4),
    ("bed_chair_transfer", 4),
    ("walking_on_level", 4),
    ("stairs", 3),
    ("time_orientation", 4),
    ("place_orientation", 4),
    ("person_orientation", 4),
    ("memory", 4),
    ("understanding", 4),
    ("expression", 4),
    ("aggressive_behaviour", 1),
    ("depressive_symptoms", 1),
    ("consciousness", 2),
    ("vision", 2),
    ("hearing", 2),
    ("daily_affairs", 4),
    ("using_transport", 3),
    ("social_interaction", 4),
)


def _scores(rng: random.Random, level: int, failed: int | None = None) -> tuple[tuple[str, int], ...]:
    """Scores whose total gives GB/T `level`, with ADL items failed (scored 0 or 1) as that level implies.

    The six ADL items of the tekun test (eating, dressing, transfer, toileting, walking, bathing) are
    failed first; then points are taken from the other items, one at a time, down to the drawn total.
    """
    failing = rng.sample(ADL_ITEMS, rng.randint(*ADL_FAILED_BY_LEVEL[level]) if failed is None else failed)
    scores = {item: (rng.randint(0, 1) if item in failing else top) for item, top in GBT_ITEMS}
    floors = {item: (0 if item in failing or item not in ADL_ITEMS else 2) for item, _ in GBT_ITEMS}
    total = rng.randint(*LEVEL_TOTALS[level])
    names = [item for item, _ in GBT_ITEMS]
    while sum(scores.values()) > total:
        item = rng.choice(names)
        if scores[item] > floors[item]:
            scores[item] -= 1
    return tuple((item, scores[item]) for item, _ in GBT_ITEMS)


def adl_items_failed(scores: tuple[tuple[str, int], ...]) -> int:
    """How many of the six ADL items the sheet fails (score 0 or 1)."""
    return sum(1 for item, value in scores if item in ADL_ITEMS and value <= 1)
