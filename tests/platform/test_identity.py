"""GB 11643 identity numbers: check digit, birth date, sex, masking."""

from __future__ import annotations

import io
import json
import logging
from datetime import date

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from shared import identity, logs

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))


def test_known_number_from_the_standard() -> None:
    # The worked example of GB 11643-1999: 11010519491231002X, a woman born 1949-12-31.
    n = identity.parse("11010519491231002x")
    assert n.value == "11010519491231002X" and n.birth_date == date(1949, 12, 31) and n.sex == "F"


@given(prefix=st.from_regex(r"\A[1-6]\d{5}\Z"), born=dates, seq=st.integers(0, 999))
def test_every_made_number_parses_back(prefix: str, born: date, seq: int) -> None:
    n = identity.parse(identity.make(prefix, born, seq))
    assert n.birth_date == born and n.sex == ("M" if seq % 2 else "F")


@given(born=dates, seq=st.integers(0, 999), pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_any_single_digit_change_is_caught(born: date, seq: int, pos: int, delta: int) -> None:
    good = identity.make("340207", born, seq)
    digits = list(good)
    digits[pos] = str((int(digits[pos]) + delta) % 10)
    assert not identity.is_valid("".join(digits))


@pytest.mark.parametrize("bad", ["", "12345", "34020719400501123Y", "340207194002301234", "340207299901011234", None])
def test_malformed_numbers_are_refused(bad: str) -> None:
    assert not identity.is_valid(bad)  # type: ignore[arg-type]


def test_masking_keeps_prefix_and_last_four() -> None:
    assert identity.mask("34020719400501123X") == "340207********123X"
    text = "numbers 34020719400501123X and 110105194912310021 in a sentence; 2026112912345678901 is too long"
    masked = identity.mask_text(text)
    assert "34020719400501123X" not in masked and "110105194912310021" not in masked
    assert "2026112912345678901" in masked


def test_logs_never_carry_an_unmasked_number() -> None:
    stream = io.StringIO()
    logs.configure("test", "INFO", "json", stream=stream)
    try:
        structlog.get_logger("t").info("looked up 34020719400501123X", person={"id_number": "110105194912310021"})
        logging.getLogger("uvicorn.error").warning("stdlib line with 34020719400501123X")
    finally:
        logs.configure("tests", "WARNING", "json")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert "34020719400501123X" not in stream.getvalue() and "110105194912310021" not in stream.getvalue()
    assert "340207********123X" in stream.getvalue()
