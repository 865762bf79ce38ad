"""Money: exact Decimal yuan with two places; JSON carries decimal strings ("780.00")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


def to_money(value: Any) -> Decimal:
    """Parse a decimal string or integer into yuan; floats are refused (they are not exact)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("money must be a decimal string such as \"780.00\", not a float")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError("money must be a decimal string such as \"780.00\"") from exc
    if not amount.is_finite():
        raise ValueError("money must be finite")
    if amount != amount.quantize(CENT):
        raise ValueError("money has at most two decimal places")
    return amount.quantize(CENT)


def round_yuan(value: Decimal) -> Decimal:
    """Round a computed amount half-up to the fen."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_exact())


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


Money = Annotated[
    Decimal,
    BeforeValidator(to_money),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["780.00"]}),
]
