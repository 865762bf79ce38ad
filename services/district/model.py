"""The synthetic district: who lives in 鸠江区, in which households, on which programs, in which institutions.

Plain frozen data, built by `population.generate(seed)` and read by the loader
(`load.py`) and the replay. Nothing here is an amount paid: incomes, expenses,
assets, disabilities and assessment scores are the facts a caseworker would
find, and the services compute every amount from them by their own rules.

Money is exact (Decimal yuan, two places). Identity numbers are valid GB 11643
numbers; residence is `hukou_division` (a 12-digit community code under a
town of POLICY.md), never the number's prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

# The day the district is loaded as of: the replay starts the next morning (2022-01-01).
LOAD_DATE = date(2021, 12, 31)
DISTRICT_CODE = "340207"

# Towns and streets of POLICY.md (the three development zones hold no households here).
TOWNS: dict[str, str] = {
    "340207001": "四褐山街道",
    "340207002": "裕溪口街道",
    "340207003": "官陡街道",
    "340207004": "湾里街道",
    "340207005": "清水街道",
    "340207101": "沈巷镇",
    "340207102": "二坝镇",
    "340207103": "汤沟镇",
    "340207104": "白茆镇",
}


class Program(StrEnum):
    """What a household (or the one person of it) receives when loaded."""

    DIBAO = "dibao"
    TEKUN_DISPERSED = "tekun_dispersed"  # 分散供养
    TEKUN_CENTRALISED = "tekun_centralised"  # 集中供养, lives in an institution
    ORPHAN = "orphan"  # 孤儿 / 事实无人抚养儿童, dispersed
    NONE = "none"


class Ownership(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    PUBLIC_BUILT_PRIVATE_RUN = "public_built_private_run"  # 公建民营


@dataclass(frozen=True)
class Disability:
    """A 残疾人证: grade 1 (most severe) to 4, and its kind (the assistance API's DisabilityKind values)."""

    grade: int
    kind: str

    @property
    def severe(self) -> bool:
        """Grades 1-2: the care subsidy (重度残疾人护理补贴)."""
        return self.grade <= 2


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    sex: str  # "M" | "F"
    birth_date: date
    hukou_division: str  # 12-digit community code
    household_key: str
    relation: str  # the registry's: head, spouse, child, parent, grandchild, grandparent, sibling, other
    disability: Disability | None = None
    seriously_ill: bool = False
    labour_capacity: str = "full"  # full | partial | none

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class Income:
    kind: str  # the assistance API's IncomeKind: wage, business, property, transfer, basic_pension, …
    monthly_amount: Decimal


@dataclass(frozen=True)
class MemberFinances:
    """One member's monthly incomes by kind and the necessary cost of their employment (就业成本)."""

    incomes: tuple[Income, ...] = ()
    employment_cost: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class RigidExpense:
    member: int  # index into Household.members
    kind: str  # medical | education | rehabilitation
    monthly_amount: Decimal


@dataclass(frozen=True)
class Assets:
    financial: Decimal = Decimal("0.00")
    homes: int = 0
    vehicles: int = 0


@dataclass(frozen=True)
class Tekun:
    """A tekun person's situation: the supporter test, the placement and the ADL items failed (from the scores)."""

    supporter: str  # none | unable
    placement: str  # centralised | dispersed
    adl_items_failed: int


@dataclass(frozen=True)
class Household:
    """A registry household; `finances[i]` belongs to `members[i]`; members[0] is the head (the applicant)."""

    key: str
    division: str
    members: tuple[str, ...]  # identity numbers
    finances: tuple[MemberFinances, ...]
    rigid_expenses: tuple[RigidExpense, ...] = ()
    assets: Assets = field(default_factory=Assets)
    program: Program = Program.NONE
    tekun: Tekun | None = None
    anti_poverty: bool = False  # 防止返贫监测对象
    marginal: bool = False  # 低保边缘家庭


@dataclass(frozen=True)
class CapacityAssessment:
    """A GB/T 42195-2022 score sheet (26 items); eldercare computes the level from it."""

    id_number: str
    assessed_on: date
    scores: tuple[tuple[str, int], ...]  # (item, score) in the standard's order
    dementia: bool = False


@dataclass(frozen=True)
class Institution:
    name: str
    ownership: Ownership
    division: str
    beds: int
    residents: tuple[str, ...]  # identity numbers


@dataclass(frozen=True)
class Targets:
    """The report's counts (scaled): what the loader compares what it loaded with."""

    residents_60_plus: int
    residents_80_plus: int
    dibao_households: int
    dibao_people: int
    tekun: int
    orphans: int
    disability_living: int
    disability_care: int
    institutions: int
    beds: int
    institution_residents: int
    anti_poverty_households: int
    anti_poverty_people: int
    anti_poverty_on_dibao: int
    anti_poverty_on_tekun: int


@dataclass(frozen=True)
class District:
    seed: int
    scale: float
    targets: Targets
    persons: tuple[Person, ...]
    households: tuple[Household, ...]
    institutions: tuple[Institution, ...]
    assessments: tuple[CapacityAssessment, ...]
    disability_living: tuple[str, ...]  # identity numbers to apply for the living subsidy (dibao families)
    disability_care: tuple[str, ...]  # identity numbers to apply for the care subsidy (grades 1-2)

    def person(self, id_number: str) -> Person:
        return self._by_id()[id_number]

    def _by_id(self) -> dict[str, Person]:
        cached: dict[str, Person] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {p.id_number: p for p in self.persons}
            object.__setattr__(self, "_index", cached)
        return cached

    def households_on(self, *programs: Program) -> list[Household]:
        return [h for h in self.households if h.program in programs]
