"""Reporting for the detector tests: the corpus scores go into pytest's terminal summary."""

from __future__ import annotations

import pytest

from tests.detect.scores import CORPUS_SCORES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the recall and precision that ``test_corpus`` measured, when it ran."""
    scores = terminalreporter.config.stash.get(CORPUS_SCORES, None)
    if not scores:
        return
    terminalreporter.section("detector corpus")
    for line in scores:
        terminalreporter.write_line(line.summary())
