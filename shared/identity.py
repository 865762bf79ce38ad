"""Resident identity number (居民身份证号码, GB 11643-1999): validate, derive, mask.

18 characters: a 6-digit division code of first registration, the birth date
YYYYMMDD, a 3-digit sequence (odd for men, even for women) and a check
character. The division prefix is *not* checked against today's codes:
historical and other counties' codes are valid numbers, and residence is the
household registration, never this prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul

from shared import clock

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZEROS = ord("0") * sum(_WEIGHTS)  # what the digits' character codes add over their values
# ASCII digits only: `\d` would also take fullwidth (１) and Arabic-Indic (١) digits, so one
# person's number could be written, and registered, in several ways.
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Used by the log masker. An 18-character run of digits (any script: masking is for safety, not
# validation) standing alone is masked; one glued to letters (`ID34020719400501018X`,
# `person_34020719400501018X`) is masked when its birth date is plausible, which keeps hex ids
# (trace ids, uuids) that happen to hold 18 digits from being masked.
ID_NUMBER_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([\dXx])(?![0-9A-Za-z])"
    r"|(?<!\d)(\d{6})((?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3})([\dXx])(?!\d)"
)


class InvalidIdNumber(ValueError):
    """The identity number is malformed; the message says how."""


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # "M" or "F"

    @property
    def masked(self) -> str:
        return mask(self.value)


def check_character(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("the check character is computed from 17 digits")
    if first17.isascii() and first17.isdigit():  # every line of a batch: the bytes' codes less '0' (no int() a digit)
        return _CHECK[(sum(map(mul, _WEIGHTS, first17.encode())) - _ZEROS) % 11]
    return _CHECK[sum(map(mul, _WEIGHTS, map(int, first17))) % 11]


def parse(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate an identity number and return it normalised (upper-case X)."""
    if not isinstance(raw, str):
        raise InvalidIdNumber("must be a string of 18 characters")
    value = raw.strip().upper()
    if not _SHAPE.fullmatch(value):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(f"birth date {value[6:14]} is not a calendar date") from exc
    if born.year < 1850 or born > (today or clock.today()):
        raise InvalidIdNumber(f"birth date {born.isoformat()} is out of range")
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber("check character does not match (GB 11643)")
    return IdNumber(value=value, birth_date=born, sex="M" if int(value[16]) % 2 else "F")


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidIdNumber:
        return False
    return True


def mask(value: str) -> str:
    """340207********123X: keep the division prefix and the last four characters."""
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def mask_text(text: str) -> str:
    """Mask every identity-number-shaped run in free text (log lines, error details)."""
    return ID_NUMBER_PATTERN.sub(_masked_match, text)


def _masked_match(m: re.Match[str]) -> str:
    prefix, _born, sequence, check = (g for g in m.groups() if g is not None)
    return prefix + "*" * 8 + sequence + check


def make(prefix: str, born: date, sequence: int) -> str:
    """Build a valid number; for demo data and tests."""
    first17 = f"{prefix}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
