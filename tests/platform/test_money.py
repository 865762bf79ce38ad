"""Money is exact: decimal strings, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.money import Money, NonNegativeMoney, PositiveMoney, from_fen, round_yuan, to_fen


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


@pytest.mark.parametrize(
    "bad",
    [
        "1e309",
        "-1e309",
        "sNaN",
        "-Infinity",
        "10000000000.00",
        "9" * 13,
        "1e10",
        10**10,
        "１２３.００",
        "١٢٣",
        "12_3",
        "1" * 100,
        "",
        " ",
        None,
        [1],
        {},
    ],
)
def test_amounts_no_column_can_hold_are_refused(bad: object) -> None:
    """Numeric(12, 2) holds less than 10,000,000,000 yuan; bigger, odd or non-ASCII input is a validation error."""
    with pytest.raises(ValidationError):
        Amount(value=bad)


def test_the_largest_amount_a_column_holds_is_accepted() -> None:
    assert Amount(value="9999999999.99").value == Decimal("9999999999.99")
    assert Amount(value="-9999999999.99").value == Decimal("-9999999999.99")


class Payments(BaseModel):
    positive: PositiveMoney = Decimal("1.00")
    not_negative: NonNegativeMoney = Decimal("0.00")


@pytest.mark.parametrize(("field", "bad"), [("positive", "0.00"), ("positive", "-0.01"), ("not_negative", "-0.01")])
def test_signs_are_checked_where_it_matters(field: str, bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        Payments.model_validate({field: bad})
    assert err.value.errors()[0]["loc"] == (field,)


@given(st.decimals(allow_nan=True, allow_infinity=True) | st.text(max_size=50) | st.integers() | st.floats())
def test_anything_is_either_refused_or_an_amount_a_column_holds(value: object) -> None:
    try:
        amount = Amount(value=value).value
    except ValidationError:
        return
    assert amount.is_finite() and abs(amount) < Decimal("1e10") and amount == amount.quantize(Decimal("0.01"))
