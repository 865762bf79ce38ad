"""Request and response models of the assistance API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from services.assistance.domain.cases import Program
from shared.fields import CivilDate, IdNumberText
from shared.money import Money, PositiveMoney
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class CaseIn(BaseModel):
    """Enrol a person in a program (a stand-in until the application workflow replaces it)."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumberText
    program: Program
    monthly_amount: PositiveMoney = Field(description="decimal string, yuan per month")


class CaseOut(BaseModel):
    case_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    monthly_amount: Money
    status: str
    status_reason: str | None
    status_changed_on: date | None
    started_on: date
    hukou_division: str




# -- standards ----------------------------------------------------------------------------


def _figure_value(value: object) -> Decimal:
    """A figure is an exact decimal (a share, a multiple, yuan): floats are refused, four places at most."""
    if isinstance(value, bool | float):
        raise ValueError('a figure must be a decimal string such as "800" or "0.35", not a float')
    text = str(value).strip()
    if len(text) > 20:
        raise ValueError("a figure has at most 20 characters")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError('a figure must be a decimal string such as "800" or "0.35"') from exc
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 10:
        raise ValueError("a figure must be finite and below 10,000,000,000")
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValueError("a figure has at most four decimal places")
    return amount


FigureValue = Annotated[
    Decimal,
    BeforeValidator(_figure_value),
    PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,4})?$", "examples": ["800", "0.35"]}),
]


class StandardIn(BaseModel):
    """A new row of a figure, in force from `effective_from` (district staff only)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=60, description="one of the figures listed by GET /v1/standards")
    value: FigureValue
    effective_from: CivilDate
    source: str = Field(min_length=1, max_length=300, description="the notice or decision the figure comes from")


class FigureOut(BaseModel):
    key: str
    label: str
    unit: str
    value: FigureValue
    effective_from: date
    source: str


class StandardsOut(BaseModel):
    on: date
    items: list[FigureOut]


class StandardChangeOut(BaseModel):
    key: str
    effective_from: date
    old_value: FigureValue | None
    new_value: FigureValue
    source: str
    changed_by: str
    changed_division: str
    changed_at: datetime
