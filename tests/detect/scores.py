"""Recall and precision of the detectors on the corpus, shared by the test and the report."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Scores:
    """What one detector configuration got right and wrong on the corpus."""

    label: str
    positives: int
    negatives: int
    found: int
    false_alarms: int

    @property
    def recall(self) -> float:
        """Share of positives found exactly (span and kind)."""
        return self.found / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        """Share of reported matches that were expected."""
        reported = self.found + self.false_alarms
        return self.found / reported if reported else 1.0

    def summary(self) -> str:
        """One line for the terminal summary."""
        return (
            f"{self.label}: {self.positives} positives, {self.negatives} negatives, "
            f"recall {self.recall:.1%}, precision {self.precision:.1%}"
        )


#: Where ``test_corpus`` leaves its scores for the terminal summary.
CORPUS_SCORES = pytest.StashKey[list[Scores]]()
