"""The cycle collector tuned while services run, restored when the last one stops (lifespans may overlap)."""

from __future__ import annotations

import gc

import pytest

from shared import gc_tuning
from shared.gc_tuning import YOUNG_THRESHOLD, tuned_collector


def test_the_collector_is_tuned_while_any_service_runs_and_restored_after_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gc_tuning, "_running", 0)  # as if no service ran (the suite's own may be running)
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.set_threshold(700, *before[1:])
    try:
        with tuned_collector():
            assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
            assert gc.get_freeze_count() > 0  # what exists at startup is left out of full collections
            with tuned_collector():  # a second service in the same process
                assert gc.get_threshold()[0] == YOUNG_THRESHOLD
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the first still runs
            assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (700, *before[1:])
        assert gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*before)
        if frozen_before:
            gc.freeze()
