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


# [0-9], not \d: hypothesis draws \d from every script, and only ASCII digits make a number.
@given(prefix=st.from_regex(r"\A[1-6][0-9]{5}\Z"), born=dates, seq=st.integers(0, 999))
def test_every_made_number_parses_back(prefix: str, born: date, seq: int) -> None:
    n = identity.parse(identity.make(prefix, born, seq))
    assert n.birth_date == born and n.sex == ("M" if seq % 2 else "F")


@given(born=dates, seq=st.integers(0, 999), pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_any_single_digit_change_is_caught(born: date, seq: int, pos: int, delta: int) -> None:
    good = identity.make("340207", born, seq)
    digits = list(good)
    digits[pos] = str((int(digits[pos]) + delta) % 10)
    assert not identity.is_valid("".join(digits))


# The same digit in other scripts: fullwidth, Arabic-Indic, Devanagari, mathematical bold.
OTHER_DIGITS = ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")


@given(
    born=dates,
    seq=st.integers(0, 999),
    script=st.sampled_from(OTHER_DIGITS),
    positions=st.sets(st.integers(0, 16), min_size=1),
)
def test_digits_of_other_scripts_are_refused(born: date, seq: int, script: str, positions: set[int]) -> None:
    """One number must have one spelling, or the same person could be registered twice."""
    good = identity.make("340207", born, seq)
    spelled = "".join(script[int(c)] if i in positions else c for i, c in enumerate(good))
    assert spelled != good and not identity.is_valid(spelled)


@given(text=st.text(max_size=40))
def test_any_text_is_either_refused_or_an_ascii_number(text: str) -> None:
    try:
        n = identity.parse(text)
    except identity.InvalidIdNumber:
        return
    assert n.value.isascii() and len(n.value) == 18 and n.value[:17].isdigit()


@pytest.mark.parametrize("bad", ["", "12345", "34020719400501123Y", "340207194002301234", "340207299901011234", None])
def test_malformed_numbers_are_refused(bad: str) -> None:
    assert not identity.is_valid(bad)  # type: ignore[arg-type]


def test_masking_keeps_prefix_and_last_four() -> None:
    assert identity.mask("34020719400501123X") == "340207********123X"
    text = "numbers 34020719400501123X and 110105194912310021 in a sentence; 2026112912345678901 is too long"
    masked = identity.mask_text(text)
    assert "34020719400501123X" not in masked and "110105194912310021" not in masked
    assert "2026112912345678901" in masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ID34020719400501123X", "ID340207********123X"),
        ("person_34020719400501123X_file", "person_340207********123X_file"),
        ("34020719400501123Xabc", "340207********123Xabc"),
        ("号码34020719400501123X。", "号码340207********123X。"),
        ("３４０２０７１９４００５０１１２３８", "３４０２０７********１２３８"),
    ],
)
def test_numbers_glued_to_letters_or_in_other_scripts_are_masked(text: str, masked: str) -> None:
    assert identity.mask_text(text) == masked


@given(
    prefix=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
    born=dates,
    seq=st.integers(0, 999),
    left=st.text(max_size=5),
    right=st.text(max_size=5),
)
def test_a_valid_number_is_masked_whatever_surrounds_it(
    prefix: str, born: date, seq: int, left: str, right: str
) -> None:
    number = identity.make(prefix, born, seq)
    # A digit right beside it makes a longer run, which is not a number (the masker leaves it).
    left = "" if left[-1:].isdigit() else left
    right = "" if right[:1].isdigit() else right
    assert number not in identity.mask_text(left + number + right)


def test_hex_ids_holding_eighteen_digits_are_left_alone() -> None:
    trace = "a123456789012345678b" + "0" * 12  # not a plausible birth date: 34567890
    assert identity.mask_text(trace) == trace


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
