"""Which programs a person may hold at once: one active case per program, no contradictions.

- One active (or suspended) case per person and program; temporary assistance
  is a one-off grant and may recur.
- Dibao and tekun exclude each other: tekun support (特困供养) already covers
  basic living, and a tekun person is not counted in a dibao household's
  assessment (社会救助暂行办法 Arts 9, 14-15).
- The disability living subsidy is not paid with tekun support, nor with the
  full orphan allowance (see domain/disability.py).
"""

from __future__ import annotations

CONTRADICTORY: dict[frozenset[str], str] = {
    frozenset({"dibao", "tekun"}): (
        "dibao and tekun exclude each other: tekun support already covers basic living (社会救助暂行办法 Arts 9, 14-15)"
    ),
    frozenset({"tekun", "disability_living"}): (
        "tekun support already covers living: no disability living subsidy with it"
    ),
}

RECURRING_ONCE = {"dibao", "tekun", "orphan", "de_facto_orphan", "disability_living", "disability_care"}


def refusal(program: str, held: set[str]) -> str | None:
    """Why a person holding active `held` programs cannot be enrolled in `program`, or None."""
    if program in held and program in RECURRING_ONCE:
        return f"already has an active {program} case (one per person and program)"
    for other in sorted(held):
        why = CONTRADICTORY.get(frozenset({program, other}))
        if why:
            return why
    return None
