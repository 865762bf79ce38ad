"""The report's figures are the system's own: each equals the sum recomputed from the payroll lines."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal

import pytest

from services.district import report
from services.district.stack import DistrictStack
from tests.district.replayed import SCALE, SEED, Replayed, replayed_district

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Replayed, dict[str, report.Row], report.Findings]:
    replayed = replayed_district(tmp_path_factory)
    moves = report.planned_moves(SEED, SCALE, "2022-01", "2022-02")
    with DistrictStack(replayed.directory) as stack:
        rows, found = asyncio.run(
            report.report(stack.urls(), stack.token, "2022-01", "2022-02", SCALE, moves, lambda _: None)
        )
    return replayed, {r.what: r for r in rows}, found


def paid_by_program(replayed: Replayed) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for service, _number, program, _month, _kind, amount, status, _reason in replayed.lines:
        if status == "paid":
            sums[program if service == "assistance" else "allowance"] += amount
    return sums


def test_the_paid_figures_equal_the_sums_of_the_paid_lines(
    reported: tuple[Replayed, dict[str, report.Row], report.Findings],
) -> None:
    replayed, rows, _ = reported
    paid = paid_by_program(replayed)
    assert paid["dibao"] > 0 and paid["allowance"] > 0
    expected = {
        "dibao paid Jan-Oct (incl. one-off)": paid["dibao"],
        "tekun support and care paid Jan-Oct": paid["tekun"],
        "temporary assistance paid Jan-Oct": paid["temporary"],
        "orphan allowance paid Jan-Oct": paid["orphan"],
        "disability subsidies paid Jan-Oct": paid["disability_living"] + paid["disability_care"],
        "old-age allowance paid Jan-Oct (10/12 of the year's 10.8536 M)": paid["allowance"],
    }
    assert {k: rows[k].system for k in expected} == expected
    one_off = sum(line[5] for line in replayed.lines if line[4] == "one_off" and line[6] == "paid")
    assert rows["  of which one-off subsidies"].system == one_off
    grants = sum(1 for line in replayed.lines if line[4] == "grant" and line[6] == "paid")
    assert rows["temporary assistance grants Jan-Oct"].system == grants


def test_the_ratio_is_the_system_over_the_scaled_report(
    reported: tuple[Replayed, dict[str, report.Row], report.Findings],
) -> None:
    _, rows, _ = reported
    row = rows["dibao people, October"]
    assert row.report == (Decimal(8204) * Decimal(str(SCALE))).quantize(Decimal("0.01"))
    assert row.ratio == (row.system / row.report).quantize(Decimal("0.0001"))


def test_no_line_was_paid_to_anyone_known_dead_or_moved_out(
    reported: tuple[Replayed, dict[str, report.Row], report.Findings],
) -> None:
    _, _, found = reported
    assert sum(found.deaths_by_status.values()) > 0
    assert found.paid_when_known_dead == 0
    assert found.paid_when_known_moved == 0
    assert found.latency_ms["death recorded -> alert raised"]


def test_the_alerts_of_the_replayed_months_count_in_those_months(
    reported: tuple[Replayed, dict[str, report.Row], report.Findings],
) -> None:
    """Counted by the business day they were raised on (the machine's day is years later)."""
    _, _, found = reported
    assert found.alerts_by_kind.get("beneficiary_died", 0) > 0, found.alerts_by_kind
