"""Money: exact Decimal yuan with two places; JSON carries decimal strings ("780.00").

Every money column is `Numeric(12, 2)`, so an amount has at most ten digits
before the point. `Money` refuses anything the column could not hold (and
anything that is not a finite decimal: "NaN", "Infinity", "1e309") with a
validation error, so a bad amount is a 422 naming its field, never a
database error.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
MAX_DIGITS = 12  # Numeric(12, 2): the columns every amount is stored in
LIMIT = Decimal(10) ** (MAX_DIGITS - 2)  # 10,000,000,000.00 is one fen too much
_MAX_TEXT = 40  # longer text cannot be an amount the column holds (it would only cost parsing time)
# ASCII digits only: Decimal() would also read "١٢٣" and "１２３", which no partner means as an amount.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def to_money(value: Any) -> Decimal:
    """Parse a decimal string or integer into yuan; floats are refused (they are not exact)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError('money must be a decimal string such as "780.00", not a float')
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_TEXT or not _DECIMAL_TEXT.fullmatch(text):
            raise ValueError('money must be a decimal string such as "780.00"')
        value = text
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError('money must be a decimal string such as "780.00"') from exc
    if not amount.is_finite():
        raise ValueError("money must be finite")
    if abs(amount) >= LIMIT:
        raise ValueError(f"money must be less than {LIMIT:,} yuan")
    if amount != amount.quantize(CENT):  # cannot raise: |amount| < LIMIT has few enough digits
        raise ValueError("money has at most two decimal places")
    return amount.quantize(CENT)


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("must be more than zero")
    return amount


def round_yuan(value: Decimal) -> Decimal:
    """Round a computed amount half-up to the fen."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_exact())


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


_SCHEMA = {"type": "string", "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$", "maxLength": 14, "examples": ["780.00"]}

Money = Annotated[
    Decimal,
    BeforeValidator(to_money),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema(_SCHEMA),
]
"""Any amount a column holds, negative included (adjustments, recoveries)."""

NonNegativeMoney = Annotated[
    Money, AfterValidator(_not_negative), WithJsonSchema({**_SCHEMA, "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"})
]
"""Zero or more: amounts that cannot go below nothing."""

PositiveMoney = Annotated[
    Money, AfterValidator(_positive), WithJsonSchema({**_SCHEMA, "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"})
]
"""More than zero: what is paid or owed each month."""
