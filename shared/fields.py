"""Request field types every service's models share: bounded so no value can fail at the database.

A request model's string is bounded by its column (`max_length`), a date by
the range civil records span (arithmetic on year 1 or 9999 overflows), an
identity number by GB 11643 (ASCII digits, the check character). Out of
range is a 422 naming the field, never a server error.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from shared import divisions, identity
from shared.problems import Invalid

EARLIEST = date(1850, 1, 1)  # the earliest birth date a valid identity number carries
LATEST = date(2199, 12, 31)

CivilDate = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
"""A date of a life event or record: 1850-01-01 to 2199-12-31 (rules refuse the future where they must)."""

_ID_NUMBER_TEXT = 32  # an 18-character number with room for the whitespace partners leave around it


def _id_number(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("invalid identity number: must be a string of 18 characters")
    if len(value) > _ID_NUMBER_TEXT:
        raise ValueError("invalid identity number: must be 18 characters")
    try:
        return identity.parse(value).value
    except identity.InvalidIdNumber as exc:
        raise ValueError(f"invalid identity number: {exc}") from exc


def id_number_param(value: str | None, field: str = "id_number") -> str | None:
    """An identity number given as a query parameter: None when absent, else checked (422 naming the field)."""
    if value is None:
        return None
    try:
        return identity.parse(value).value
    except identity.InvalidIdNumber as exc:
        raise Invalid(f"invalid identity number: {exc}", field=field) from exc


IdNumberText = Annotated[
    str,
    BeforeValidator(_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 18,
            "maxLength": 18,
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "description": "18-character resident identity number (GB 11643: ASCII digits, check character)",
            "examples": ["340207194005011238"],
        }
    ),
]
"""A valid identity number, normalised (upper-case X)."""


def _division(value: str) -> str:
    try:
        return divisions.validate(value)
    except divisions.UnknownDivision as exc:
        raise ValueError(str(exc)) from exc


DivisionCode = Annotated[str, Field(min_length=6, max_length=12, pattern="^[0-9]+$"), AfterValidator(_division)]
"""A division of the district: 6, 9 or 12 ASCII digits."""
