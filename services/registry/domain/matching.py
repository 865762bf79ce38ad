"""Matching a partner's report to the person on file (身份比对): a confidence and the reason.

A report names a person by identity number and, usually, by name. The number
decides who the candidate is; the name says how sure we are. Confidence is an
integer percentage, computed from shared characters, so a caseworker can check
it by hand: 100 = the same name, 0 = no candidate at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    confidence: int  # 0-100
    matches: bool  # the report may apply without review
    reason: str


def _norm(name: str) -> str:
    return "".join(name.split()).replace("·", "").replace("•", "").casefold()


def name_confidence(reported: str | None, on_file: str) -> Match:
    """How well the reported name fits the person on file (the identity number already matched)."""
    if not reported or not reported.strip():
        return Match(90, True, "identity number matches; the report gives no name")
    a, b = _norm(reported), _norm(on_file)
    if a == b:
        return Match(100, True, "identity number and name match")
    # Characters in common, position-free (order slips and a changed given name both score partly).
    pool = list(b)
    common = 0
    for ch in a:
        if ch in pool:
            pool.remove(ch)
            common += 1
    longest = max(len(a), len(b))
    score = 20 + (60 * common) // longest  # the number matched: never below 20, never 100
    surname = "same surname" if a[:1] == b[:1] else "different surname"
    return Match(
        min(score, 80),
        False,
        f"name mismatch: the report says {reported!r}, the registry has {on_file!r}"
        f" ({common} of {longest} characters in common, {surname})",
    )


UNKNOWN = Match(0, False, "identity number unknown to the registry")
