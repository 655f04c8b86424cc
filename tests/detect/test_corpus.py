"""The detectors against the labelled corpus: every spelling found, every negative left alone."""

from __future__ import annotations

import pytest

from proxy.detect import PLACEHOLDER, Scrubber
from tests.detect.corpus import NEGATIVES, POSITIVES, Negative, Positive
from tests.detect.scores import CORPUS_SCORES, Scores

SCRUBBERS = {
    "chain pass (default, egress)": Scrubber(),
    "with PhoneNumberMatcher": Scrubber(thorough=True),
}


def _exact(scrubber: Scrubber, sample: Positive) -> tuple[bool, int]:
    # Whether the secret came back exactly (span and kind), and how many other matches did.
    matches = scrubber.find(sample.text, sample.known, ())
    start = sample.text.index(sample.secret)
    expected = (start, start + len(sample.secret), sample.kind)
    hits = [m for m in matches if (m.start, m.end, m.kind) == expected]
    return bool(hits), len(matches) - len(hits)


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 60 positives and 40 negatives, each kind represented."""
    assert len(POSITIVES) >= 60
    assert len(NEGATIVES) >= 40
    kinds = {sample.kind for sample in POSITIVES}
    assert kinds == {"phone", "email", "codice_fiscale", "partita_iva", "removed_value"}


@pytest.mark.parametrize("label", SCRUBBERS)
def test_corpus_recall_and_precision_are_total(label: str, request: pytest.FixtureRequest) -> None:
    """Recall and precision are both 100% on the corpus, with and without the second opinion."""
    scrubber = SCRUBBERS[label]
    found = false_alarms = 0
    misses: list[str] = []
    for sample in POSITIVES:
        hit, extra = _exact(scrubber, sample)
        found += hit
        false_alarms += extra
        if not hit:
            misses.append(sample.text)
    alarms = [n.text for n in NEGATIVES if scrubber.find(n.text, n.known, n.allowed)]
    false_alarms += len(alarms)
    scores = Scores(label, len(POSITIVES), len(NEGATIVES), found, false_alarms)
    request.config.stash.setdefault(CORPUS_SCORES, []).append(scores)
    assert misses == []
    assert alarms == []
    assert (scores.recall, scores.precision) == (1.0, 1.0)


@pytest.mark.parametrize("sample", POSITIVES, ids=lambda s: s.text[:40])
def test_positive_scrub_replaces_only_the_secret(sample: Positive) -> None:
    """Scrubbing replaces exactly the secret and leaves every other character as it was."""
    scrubbed, count = Scrubber().scrub(sample.text, sample.known, ())
    assert count == 1
    assert scrubbed == sample.text.replace(sample.secret, PLACEHOLDER, 1)


@pytest.mark.parametrize("sample", NEGATIVES, ids=lambda s: s.text[:40])
def test_negative_survives_scrub(sample: Negative) -> None:
    """A text without personal data comes out of the scrubber unchanged."""
    assert Scrubber().scrub(sample.text, sample.known, sample.allowed) == (sample.text, 0)
