"""Standards (救助标准): every policy figure as effective-dated data, never a constant in code.

The bureau's figures change every year (Anhui adjusts the dibao standard each
July), so each is a row `(key, value, effective_from)`; the figure in force on a
date is the row with the latest `effective_from` on or before it. A computation
takes a `Standards` view for its date and reads figures through it; the view
remembers what it was asked for, so every assessment names the figures and the
dates it used (`Standards.used()`).

`FIGURES` is the list of known keys with their unit and the range an edit must
respect (a gradual exit of 1–12 months, a share between 0 and 1): district
staff add rows for these keys, they cannot invent new ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class FigureSpec:
    """What a figure means, its unit and the range an edit must stay in."""

    label: str
    unit: str
    minimum: Decimal
    maximum: Decimal


def _spec(label: str, unit: str, minimum: str, maximum: str) -> FigureSpec:
    return FigureSpec(label, unit, Decimal(minimum), Decimal(maximum))


YUAN_MONTH = "yuan/month"
WHOLE_UNITS = ("months", "days", "working days", "years", "count", "level")
SHARE = "share"
MULTIPLE = "multiple"

FIGURES: dict[str, FigureSpec] = {
    # 最低生活保障
    "dibao.standard": _spec("低保标准 dibao standard per person", YUAN_MONTH, "1", "100000"),
    "dibao.floor": _spec("minimum dibao payment per member (保底)", YUAN_MONTH, "0", "100000"),
    "dibao.addon.elderly": _spec("分类施保 add-on, elderly member, share of the standard", SHARE, "0", "1"),
    "dibao.addon.minor": _spec("分类施保 add-on, minor member, share of the standard", SHARE, "0", "1"),
    "dibao.addon.severely_disabled": _spec(
        "分类施保 add-on, severely disabled member, share of the standard", SHARE, "0", "1"
    ),
    "dibao.addon.seriously_ill": _spec("分类施保 add-on, seriously ill member, share of the standard", SHARE, "0", "1"),
    "dibao.elderly_age": _spec("age from which the elderly add-on applies", "years", "50", "100"),
    "dibao.marginal_multiple": _spec("低保边缘 income limit, multiple of the standard", MULTIPLE, "1", "5"),
    "dibao.asset_months": _spec("per-capita financial assets allowed, months of the standard", "months", "0", "120"),
    "dibao.max_homes": _spec("homes a household may own", "count", "0", "10"),
    "dibao.max_vehicles": _spec("non-essential vehicles a household may own", "count", "0", "10"),
    "dibao.employment_cost_cap": _spec("就业成本 deduction, most per working member", YUAN_MONTH, "0", "100000"),
    "gradual_exit.months": _spec("渐退 gradual exit", "months", "1", "12"),
    "review.stable_months": _spec("复核 interval, stable households", "months", "1", "24"),
    "review.unstable_months": _spec("复核 interval, unstable income with members able to work", "months", "1", "24"),
    "death_recheck.months": _spec("re-check of a household after a member's death", "months", "1", "12"),
    # 特困人员救助供养
    "tekun.basic_multiple": _spec("特困 basic standard, least multiple of the dibao standard", MULTIPLE, "1", "5"),
    "tekun.basic_amount": _spec("特困 basic living standard (configured)", YUAN_MONTH, "0", "100000"),
    "minimum_wage": _spec("previous year's minimum monthly wage (上年度最低月工资)", YUAN_MONTH, "1", "100000"),
    "tekun.care.centralised.full": _spec("care share, centralised, full care (全护理)", SHARE, "0", "1"),
    "tekun.care.centralised.partial": _spec("care share, centralised, partial care (半护理)", SHARE, "0", "1"),
    "tekun.care.dispersed.full": _spec("care share, dispersed, full care (全护理)", SHARE, "0", "1"),
    "tekun.care.dispersed.partial": _spec("care share, dispersed, partial care (半护理)", SHARE, "0", "1"),
    "tekun.care.gbt_partial_from": _spec(
        "eldercare capacity level (GB/T 42195, 0-4) from which tekun care is partial (半护理)", "level", "0", "4"
    ),
    "tekun.care.gbt_full_from": _spec(
        "eldercare capacity level (GB/T 42195, 0-4) from which tekun care is full (全护理)", "level", "0", "4"
    ),
    "tekun.elderly_age": _spec("age from which a person has no ability to work", "years", "50", "100"),
    "tekun.child_age": _spec("age under which a person has no ability to work", "years", "1", "18"),
    # 临时救助
    "temporary.emergency_min_multiple": _spec(
        "急难型 grant, least multiple of the dibao standard", MULTIPLE, "0", "100"
    ),
    "temporary.max_multiple": _spec("any grant, most multiple of the dibao standard", MULTIPLE, "1", "100"),
    "temporary.town_limit_multiple": _spec(
        "town approves alone up to this multiple of the standard", MULTIPLE, "0", "100"
    ),
    "temporary.town_reserve": _spec("town reserve fund 备用金 per year", "yuan/year", "0", "100000000"),
    "income.prev_year_disposable": _spec(
        "previous year's per-capita disposable income (支出型 test)", YUAN_MONTH, "1", "1000000"
    ),
    # 孤儿 and 事实无人抚养儿童
    "orphan.dispersed": _spec("orphan allowance, dispersed (散居)", YUAN_MONTH, "0", "100000"),
    "orphan.institutional": _spec("orphan allowance, institutional (集中)", YUAN_MONTH, "0", "100000"),
    # 残疾人两项补贴
    "disability.living": _spec("困难残疾人生活补贴", YUAN_MONTH, "0", "100000"),
    "disability.care": _spec("重度残疾人护理补贴", YUAN_MONTH, "0", "100000"),
    # workflow (审核确认办法; 特困认定办法)
    "notice.days": _spec("公示 public notice", "days", "1", "30"),
    "workflow.survey_working_days": _spec(
        "household survey starts within, after acceptance", "working days", "1", "30"
    ),
    "workflow.dibao.review_working_days": _spec(
        "town review (初审, after the household survey)", "working days", "1", "90"
    ),
    "workflow.dibao.total_working_days": _spec(
        "whole dibao procedure, confirmation delegated to towns", "working days", "1", "90"
    ),
    "workflow.extended_working_days": _spec(
        "whole procedure with objections or difficult investigations", "working days", "1", "90"
    ),
    "workflow.tekun.review_working_days": _spec("特困 township investigation and 初审", "working days", "1", "90"),
    "workflow.tekun.total_working_days": _spec("特困 whole procedure", "working days", "1", "90"),
}


class MissingStandard(LookupError):
    """No row of this figure is in force on the date asked for."""


class UnknownFigure(ValueError):
    """The key is not one of FIGURES."""


@dataclass(frozen=True)
class StandardRow:
    key: str
    value: Decimal
    effective_from: date
    source: str


@dataclass(frozen=True)
class FigureUsed:
    """One figure a computation used: what, how much, in force since when, from which source."""

    key: str
    value: Decimal
    effective_from: date
    source: str


def check_edit(key: str, value: Decimal) -> str | None:
    """Why a new row for `key` with `value` cannot be added, or None."""
    spec = FIGURES.get(key)
    if spec is None:
        return f"{key!r} is not a known figure"
    if not spec.minimum <= value <= spec.maximum:
        return f"{key} must lie between {spec.minimum} and {spec.maximum} ({spec.unit})"
    if spec.unit.startswith("yuan") and value != value.quantize(Decimal("0.01")):
        return f"{key} is an amount in {spec.unit}: at most two decimal places (fen)"
    if spec.unit in WHOLE_UNITS and value != value.to_integral_value():
        return f"{key} is a whole number of {spec.unit}"
    return None


def in_force(rows: Iterable[StandardRow], on: date) -> dict[str, StandardRow]:
    """For each key, the row with the latest effective date on or before `on`."""
    chosen: dict[str, StandardRow] = {}
    for row in rows:
        if row.effective_from > on:
            continue
        best = chosen.get(row.key)
        if best is None or row.effective_from > best.effective_from:
            chosen[row.key] = row
    return chosen


class Standards:
    """The figures in force on one date; remembers each figure read, for the explanation."""

    def __init__(self, rows: Iterable[StandardRow], on: date):
        self.on = on
        self._rows = in_force(rows, on)
        self._used: dict[str, FigureUsed] = {}

    def get(self, key: str) -> Decimal:
        if key not in FIGURES:
            raise UnknownFigure(key)
        row = self._rows.get(key)
        if row is None:
            raise MissingStandard(f"no {key} in force on {self.on.isoformat()}")
        self._used[key] = FigureUsed(row.key, row.value, row.effective_from, row.source)
        return row.value

    def used(self) -> list[FigureUsed]:
        return sorted(self._used.values(), key=lambda f: f.key)
