"""Deaths from several sources: recorded once, confirmed by a second source, conflicts flagged."""

from __future__ import annotations

from datetime import date

from services.registry.domain.deaths import (
    DeathState,
    DeathStatus,
    Outcome,
    Report,
    check_date,
    decide,
)

D = date(2026, 3, 1)


def test_first_report_records_the_death() -> None:
    d = decide(None, Report("hospital", "H1", D))
    assert d.outcome == Outcome.RECORDED and d.status == DeathStatus.REPORTED


def test_second_source_with_the_same_date_confirms() -> None:
    state = DeathState(D, DeathStatus.REPORTED, [Report("hospital", "H1", D)])
    d = decide(state, Report("funeral_home", "F1", D))
    assert d.outcome == Outcome.CONFIRMED and d.status == DeathStatus.CONFIRMED


def test_same_report_again_is_a_duplicate_and_same_source_does_not_confirm() -> None:
    state = DeathState(D, DeathStatus.REPORTED, [Report("hospital", "H1", D)])
    assert decide(state, Report("hospital", "H1", D)).outcome == Outcome.DUPLICATE
    assert decide(state, Report("hospital", "H2", D)).status == DeathStatus.REPORTED


def test_a_different_date_is_a_conflict() -> None:
    state = DeathState(D, DeathStatus.CONFIRMED, [Report("hospital", "H1", D), Report("funeral_home", "F1", D)])
    d = decide(state, Report("public_security", "P1", date(2026, 3, 2)))
    assert d.outcome == Outcome.CONFLICT and d.status == DeathStatus.CONFLICT and "2026-03-02" in d.explanation


def test_impossible_dates() -> None:
    assert check_date(date(2030, 1, 1), date(1950, 1, 1), date(2026, 1, 1)) == "date of death is in the future"
    assert (
        check_date(date(1949, 1, 1), date(1950, 1, 1), date(2026, 1, 1)) == "date of death is before the date of birth"
    )
    assert check_date(D, date(1950, 1, 1), date(2026, 11, 1)) is None
