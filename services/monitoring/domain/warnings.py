"""Warning rules (预警规则): each a small named pure function over one person's situation.

A rule looks at a `Situation` (what monitoring knows of a person on a day)
and the `Thresholds` in force that day, and returns a `Finding` when the
situation calls for a caseworker, or None when it does not. The same
situation always gives the same finding key, so however many events describe
it, it raises one alert; and when a rule stops finding it (the overpayment
recovered, the allowance enrolled, the death revoked), the open alert closes
itself with the rule's `cleared` reason.

Sources: RULES.md §4.4 (the triggers), §1.6 (gradual exit), §1.7 (review),
§4.1 (the marginal multiplier), §5.1 (old-age allowance at 80), §6.1 (exit
at 18). The thresholds are local policy, so they are effective-dated data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801 - used as functools.cached_property is
    """functools.cached_property without its lock: Python 3.11's takes an RLock on every first read, which cost
    more than the rules themselves (a situation is built and read once per event, in one thread).

    The value is stored in the instance's __dict__ (so a frozen dataclass can hold it), where later reads find it.
    """

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        value = instance.__dict__[self.name] = self.fn(instance)
        return value


class Severity(StrEnum):
    HIGH = "high"  # money is flowing to someone who should not get it, or has been
    MEDIUM = "medium"  # someone may be entitled to more, or to something else
    LOW = "low"  # a reminder: a review or a check is due


@dataclass(frozen=True)
class Thresholds:
    """The local figures the rules compare against, in force from `effective_from`."""

    effective_from: date
    dibao_standard: Decimal  # monthly, per person
    marginal_multiplier: Decimal = Decimal("1.5")
    medical_expense_threshold: Decimal = Decimal("5000.00")  # one out-of-pocket bill, after insurance
    allowance_age: int = 80
    child_exit_age: int = 18
    review_grace_days: int = 0


def thresholds_on(rows: Iterable[Thresholds], on: date) -> Thresholds:
    """The row in force on a date: the latest `effective_from` not after it."""
    in_force = [r for r in rows if r.effective_from <= on]
    if not in_force:
        raise LookupError(f"no warning thresholds in force on {on.isoformat()}")
    return max(in_force, key=lambda r: r.effective_from)


GUARANTEED = frozenset({"dibao", "tekun"})
CHILD_PROGRAMS = frozenset({"orphan", "de_facto_orphan", "tekun"})
LIST_CATEGORIES = frozenset({"anti_poverty_monitoring", "marginal"})


@dataclass(frozen=True)
class Situation:
    """What monitoring knows of one person on `today` (built from its records and events)."""

    today: date
    status: str = "active"  # active | deceased | moved_away
    date_of_death: date | None = None
    birth_date: date | None = None
    in_district: bool = True
    programs: dict[str, str] = field(default_factory=dict)  # program -> active | suspended | terminated | ...
    benefits_at_death: tuple[str, ...] = ()  # what was paying when the death was reported
    categories: frozenset[str] = frozenset()  # list categories: anti_poverty_monitoring, marginal, ...
    open_overpayments: Decimal = Decimal("0")  # paid after death and not yet recovered
    per_capita_income: Decimal | None = None  # the household's latest, monthly
    latest_medical_expense: Decimal | None = None
    household_changed_on: date | None = None
    last_review_on: date | None = None
    review_due_on: date | None = None

    # Cached: every rule and lead asks, a dozen times per evaluation (the situation is frozen, so they cannot change).
    @cached_property
    def active_programs(self) -> list[str]:
        return sorted(p for p, s in self.programs.items() if s == "active")

    @cached_property
    def benefits_at_stake(self) -> list[str]:
        """Programs that were paying: active, or suspended pending a death or move."""
        return sorted(p for p, s in self.programs.items() if s in ("active", "suspended"))

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: Severity
    summary: str
    details: dict[str, str] = field(default_factory=dict)


Rule = Callable[[Situation, Thresholds], Finding | None]


@dataclass(frozen=True)
class NamedRule:
    kind: str
    check: Rule
    cleared: str  # why an open alert of this kind closes itself when the rule no longer finds it
    # The rule finds nothing unless the person's status is active: not asked otherwise (a death's events, the
    # bulk of what monitoring folds, would ask seven rules that each answer None).
    active_only: bool = False


def beneficiary_died(s: Situation, t: Thresholds) -> Finding | None:
    if s.status != "deceased":
        return None
    benefits = sorted({*s.benefits_at_death, *s.benefits_at_stake})
    if not benefits:
        return None
    dod = s.date_of_death.isoformat() if s.date_of_death else "unknown"
    return Finding(
        "beneficiary_died",
        Severity.HIGH,
        f"beneficiary died on {dod}; benefits at death: {', '.join(benefits)}; stop them and check payments",
        {"date_of_death": dod},
    )


def moved_out(s: Situation, t: Thresholds) -> Finding | None:
    if s.status == "deceased" or s.in_district or not s.benefits_at_stake:
        return None
    return Finding(
        "beneficiary_moved_out",
        Severity.HIGH,
        f"household registration moved out of the district; review {', '.join(s.benefits_at_stake)} "
        "(local-registration benefits such as the old-age allowance stop)",
    )


def paid_after_death(s: Situation, t: Thresholds) -> Finding | None:
    if s.open_overpayments <= 0:
        return None
    return Finding(
        "paid_after_death",
        Severity.HIGH,
        f"{s.open_overpayments:.2f} yuan paid after death is not yet recovered",
        {"amount": f"{s.open_overpayments:.2f}"},
    )


def income_above_standard(s: Situation, t: Thresholds) -> Finding | None:
    """Dibao with income at or above the standard: gradual exit (渐退) is due; up to 1.5x it is a marginal family."""
    if s.status != "active" or s.programs.get("dibao") != "active" or s.per_capita_income is None:
        return None
    if s.per_capita_income < t.dibao_standard:
        return None
    marginal = s.per_capita_income < t.dibao_standard * t.marginal_multiplier
    then = "reclassify as a marginal family (低保边缘)" if marginal else "stop after the gradual exit"
    return Finding(
        "income_above_standard",
        Severity.MEDIUM,
        f"per-capita income {s.per_capita_income:.2f} is at or above the dibao standard {t.dibao_standard:.2f}: "
        f"gradual exit (渐退) due, then {then}",
        {"per_capita_income": f"{s.per_capita_income:.2f}", "standard": f"{t.dibao_standard:.2f}"},
    )


def high_medical_expense(s: Situation, t: Thresholds) -> Finding | None:
    low_income = bool(s.active_programs) or bool(s.categories & LIST_CATEGORIES)
    if s.status != "active" or not low_income or s.latest_medical_expense is None:
        return None
    if s.latest_medical_expense < t.medical_expense_threshold:
        return None
    return Finding(
        "high_medical_expense",
        Severity.MEDIUM,
        f"out-of-pocket medical expense {s.latest_medical_expense:.2f} above {t.medical_expense_threshold:.2f}: "
        "screen for expenditure-type temporary assistance, the rigid-expense category and medical assistance",
        {"amount": f"{s.latest_medical_expense:.2f}"},
    )


def household_changed(s: Situation, t: Thresholds) -> Finding | None:
    if s.status != "active" or s.household_changed_on is None or not (set(s.active_programs) & GUARANTEED):
        return None
    if s.last_review_on is not None and s.last_review_on >= s.household_changed_on:
        return None
    return Finding(
        "household_changed",
        Severity.LOW,
        f"household composition changed on {s.household_changed_on.isoformat()}: reassess the household",
        {"changed_on": s.household_changed_on.isoformat()},
    )


def review_overdue(s: Situation, t: Thresholds) -> Finding | None:
    """A review due and not done: a reassessment on or after the due date (its amount change) is the review."""
    if s.status != "active" or s.review_due_on is None or not s.active_programs:
        return None
    if s.last_review_on is not None and s.last_review_on >= s.review_due_on:
        return None
    if (s.today - s.review_due_on).days <= t.review_grace_days:
        return None
    return Finding(
        "review_overdue",
        Severity.LOW,
        f"periodic review was due on {s.review_due_on.isoformat()}",
        {"due_on": s.review_due_on.isoformat()},
    )


def marginal_income(s: Situation, t: Thresholds) -> bool:
    """A marginal family by income (低保边缘, §4.1): per capita from the standard up to the multiplier of it."""
    return marginal_by_income(s.per_capita_income, t)


def marginal_by_income(per_capita_income: Decimal | None, t: Thresholds) -> bool:
    """`marginal_income` of a per-capita income alone (a record's categories need no whole situation)."""
    pc = per_capita_income
    return pc is not None and t.dibao_standard <= pc < t.dibao_standard * t.marginal_multiplier


def uncovered(s: Situation, t: Thresholds) -> Finding | None:
    """应保未保: on the anti-poverty list or a marginal family (listed, or by its income), and in no program."""
    lists = set(s.categories & LIST_CATEGORIES) | ({"marginal"} if marginal_income(s, t) else set())
    if s.status != "active" or not s.in_district or not lists or s.active_programs:
        return None
    return Finding(
        "uncovered_need",
        Severity.MEDIUM,
        f"listed as {', '.join(sorted(lists))} and covered by no program: assess eligibility",
    )


def elder_without_allowance(s: Situation, t: Thresholds) -> Finding | None:
    age = s.age_on(s.today)
    if s.status != "active" or not s.in_district or age is None or age < t.allowance_age:
        return None
    if s.programs.get("old_age_allowance") == "active":
        return None
    return Finding(
        "elder_without_allowance",
        Severity.MEDIUM,
        f"aged {age} with local registration and no old-age allowance",
        {"age": str(age)},
    )


def child_turning_adult(s: Situation, t: Thresholds) -> Finding | None:
    age = s.age_on(s.today)
    programs = set(s.active_programs) & CHILD_PROGRAMS
    if s.status != "active" or age is None or age < t.child_exit_age or not programs:
        return None
    if "tekun" in programs and age >= 60:
        return None  # tekun for the old, not a child's exit
    return Finding(
        "child_turning_18",
        Severity.MEDIUM,
        f"turned {t.child_exit_age} while in {', '.join(sorted(programs))}: exit unless still in school",
        {"age": str(age)},
    )


RULES: tuple[NamedRule, ...] = (
    NamedRule("beneficiary_died", beneficiary_died, "the death was revoked"),
    NamedRule(
        "beneficiary_moved_out", moved_out, "the person is registered in the district again or no benefit is at stake"
    ),
    NamedRule("paid_after_death", paid_after_death, "the overpayment was recovered or written off"),
    NamedRule(
        "income_above_standard",
        income_above_standard,
        "income fell below the standard or the case left dibao",
        active_only=True,
    ),
    NamedRule(
        "high_medical_expense",
        high_medical_expense,
        "no longer a low-income household or the expense was settled",
        active_only=True,
    ),
    NamedRule("household_changed", household_changed, "the household was reviewed after the change", active_only=True),
    NamedRule("review_overdue", review_overdue, "the review was done", active_only=True),
    NamedRule("uncovered_need", uncovered, "the person is now covered by a program or left the list", active_only=True),
    NamedRule(
        "elder_without_allowance", elder_without_allowance, "the old-age allowance was enrolled", active_only=True
    ),
    NamedRule("child_turning_18", child_turning_adult, "the child's program ended", active_only=True),
)
RULES_UNLESS_ACTIVE = tuple(r for r in RULES if not r.active_only)  # what can find anything for the dead or moved
KINDS = tuple(r.kind for r in RULES)
CLEARED = {r.kind: r.cleared for r in RULES}  # kind -> why it closes (built once: reconcile runs after every event)


def evaluate(s: Situation, t: Thresholds) -> dict[str, Finding]:
    """Every finding of every rule for one person: kind -> finding."""
    found = {}
    for rule in RULES if s.status == "active" else RULES_UNLESS_ACTIVE:
        finding = rule.check(s, t)
        if finding is not None:
            found[rule.kind] = finding
    return found


@dataclass(frozen=True)
class Reconciliation:
    """What to do with a person's alerts: raise the new, close the cleared, keep the rest."""

    raise_: dict[str, Finding]
    close: dict[str, str]  # kind -> reason
    keep: frozenset[str]


def reconcile(open_kinds: Iterable[str], findings: dict[str, Finding]) -> Reconciliation:
    """Compare the open alerts of a person with what the rules find now.

    Only the kinds these rules own are closed automatically; an alert of
    another kind (raised by hand, say) is left for a caseworker.
    """
    open_set = set(open_kinds)
    cleared = CLEARED
    return Reconciliation(
        raise_={k: f for k, f in findings.items() if k not in open_set},
        close={k: cleared[k] for k in open_set if k in cleared and k not in findings},
        keep=frozenset(open_set & set(findings)),
    )
