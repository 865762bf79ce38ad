"""The data-comparison rules as pure functions: what a line of each department's list means for a record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.monitoring.domain.comparisons import (
    RULE_OF_SOURCE,
    Known,
    asset_on_guarantee,
    death_not_on_file,
    income_above_standard,
)

STANDARD = Decimal("800.00")
ON_DIBAO = Known("active", {"dibao": "active"})
ON_TEKUN = Known("active", {"tekun": "active", "disability_living": "active"})
SUSPENDED = Known("active", {"dibao": "suspended"})
ELDER_ONLY = Known("active", {"old_age_allowance": "active"})


def test_every_source_of_rules_section_4_has_a_rule() -> None:
    assert set(RULE_OF_SOURCE) == {
        "cremation", "hukou_cancellation", "vehicle", "property", "business", "salary", "pension"
    }  # fmt: skip


def test_a_car_owner_on_dibao_or_tekun_is_found_and_the_asset_named() -> None:
    found = asset_on_guarantee({"description": "car 皖B12345"}, ON_DIBAO, STANDARD)
    assert found is not None and found.rule == "asset_on_guarantee"
    assert found.summary == "car 皖B12345 registered while on dibao: re-check assets"
    found = asset_on_guarantee({}, ON_TEKUN, STANDARD)
    assert found is not None and found.summary == "an asset registered while on tekun: re-check assets"


def test_an_asset_matters_only_on_a_guarantee_in_force() -> None:
    assert asset_on_guarantee({"description": "car"}, ELDER_ONLY, STANDARD) is None
    assert asset_on_guarantee({"description": "car"}, SUSPENDED, STANDARD) is None


def test_a_cremation_of_someone_still_paid_is_found_not_of_the_dead_nor_of_the_unpaid() -> None:
    found = death_not_on_file({}, ON_TEKUN, STANDARD)
    assert found is not None and "disability_living, tekun still pay" in found.summary
    assert death_not_on_file({}, Known("deceased", {"dibao": "terminated"}), STANDARD) is None
    assert death_not_on_file({}, SUSPENDED, STANDARD) is None
    assert death_not_on_file({}, ELDER_ONLY, STANDARD) is not None  # any benefit still paid


@pytest.mark.parametrize(
    ("amount", "found"),
    [("799.99", False), ("800.00", True), ("800", True), (800.5, True), ("not money", False), (None, False),
     ("NaN", False), ("Infinity", False)],
)  # fmt: skip
def test_a_salary_at_or_above_the_standard_of_someone_on_dibao(amount: object, found: bool) -> None:
    finding = income_above_standard({"monthly_amount": amount}, ON_DIBAO, STANDARD)
    assert (finding is not None) is found
    if finding:
        assert finding.rule == "income_above_standard" and "dibao standard 800.00" in finding.summary


def test_a_salary_matters_only_on_dibao() -> None:
    assert income_above_standard({"monthly_amount": "5000.00"}, ON_TEKUN, STANDARD) is None
