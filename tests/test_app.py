"""Process-wide settings the server makes at start."""

from __future__ import annotations

import gc

from proxy.app import tune_collector


def test_tune_collector_raises_only_the_young_generation_threshold() -> None:
    """The first threshold goes to 10,000; the older generations' settings stay."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        tune_collector()
        assert gc.get_threshold() == (10_000, 11, 12)
    finally:
        gc.set_threshold(*before)
