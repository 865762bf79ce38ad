"""Money is exact: decimal strings, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import Money, from_fen, round_yuan, to_fen


class Amount(BaseModel):
    value: Money


def test_decimal_strings_and_integers_are_exact() -> None:
    assert Amount(value="780.5").value == Decimal("780.50")
    assert Amount(value=800).model_dump(mode="json") == {"value": "800.00"}


@pytest.mark.parametrize("bad", [780.5, "780.555", "NaN", "Infinity", "1e400x", True])
def test_floats_and_fractions_of_a_fen_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        Amount(value=bad)


def test_fen_round_trip_and_half_up() -> None:
    assert to_fen(Decimal("794.05")) == 79405 and from_fen(79405) == Decimal("794.05")
    assert round_yuan(Decimal("0.005")) == Decimal("0.01")
