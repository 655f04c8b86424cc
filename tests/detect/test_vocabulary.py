"""Tests for proxy.detect.vocabulary: the memo of texts clean of patterns, and how find_many uses it.

The memo must never change a finding: a remembered text is still searched for the message's
removed values, a text with an allowed detection is never remembered, and a remembered text
with enough digits to hold a removed number is read in full again.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.detect import finder
from proxy.detect.finder import find_many
from proxy.detect.known import ValueSet
from proxy.detect.spans import Match
from proxy.detect.vocabulary import CAPACITY, MAX_LENGTH, CleanTexts
from tests.detect.strategies import email_spellings, phone_spellings, surroundings


@pytest.fixture
def memo(monkeypatch: pytest.MonkeyPatch) -> CleanTexts:
    """A fresh, enabled memo in place of the process's one."""
    fresh = CleanTexts(enabled=True)
    monkeypatch.setattr(finder, "CLEAN", fresh)
    return fresh


def _kinds(found: list[list[Match]]) -> list[list[str]]:
    return [[m.kind for m in matches] for matches in found]


def test_clean_texts_are_remembered_and_those_with_patterns_are_not(memo: CleanTexts) -> None:
    """Vocabulary is remembered with its digit count; a phone, an e-mail or a long text is not."""
    texts = ["productOrderItem", "interno 12", "tel 347 123 4567", "a@b.it", "x " * MAX_LENGTH]
    assert _kinds(find_many(texts)) == [[], [], ["phone"], ["email"], []]
    assert memo.digits("productOrderItem") == 0
    assert memo.digits("interno 12") == 2
    assert memo.digits("tel 347 123 4567") is None
    assert memo.digits("a@b.it") is None
    assert memo.digits("x " * MAX_LENGTH) is None  # too long to be vocabulary


def test_encoded_or_non_ascii_texts_are_not_remembered(memo: CleanTexts) -> None:
    """A text that is not its own canonical form is always read in full."""
    find_many(["perché", "a &amp; b", "nota"])
    assert memo.digits("perché") is None
    assert memo.digits("a &amp; b") is None
    assert memo.digits("nota") == 0


def test_a_remembered_text_is_still_searched_for_removed_values(memo: CleanTexts) -> None:
    """ "chiedere della signora Rossi" is clean of patterns, and holds a removed surname."""
    note = "chiedere della signora Rossi"
    assert find_many([note]) == [[]]
    assert memo.digits(note) == 0
    removed = ValueSet.compile(["Mario Rossi"])
    found = find_many([note, "productOrderItem"], removed)
    assert _kinds(found) == [["removed_value"], []]
    assert note[found[0][0].start : found[0][0].end] == "Rossi"


def test_removed_words_in_remembered_texts_respect_allowed_values(memo: CleanTexts) -> None:
    """An allowed literal around a removed word still wins, as in the full pass."""
    text = "sede in via Giulia Bianchi"
    find_many([text])
    assert memo.digits(text) == 0
    allowed = ValueSet.compile(["Via Giulia Bianchi"], search=False)
    removed = ValueSet.compile(["Giulia Bianchi"]).without(allowed)
    assert find_many([text], removed, allowed) == [[]]
    assert _kinds(find_many([text], removed)) == [["removed_value"]]


def test_an_allowed_detection_is_not_clean(memo: CleanTexts) -> None:
    """The partner's number is allowed in one message; the next message may not allow it."""
    partner = "NOC 02 4567 8900"
    allowed = ValueSet.compile(["+39 02 4567 8900"], search=False)
    assert find_many([partner], ValueSet(), allowed) == [[]]
    assert memo.digits(partner) is None
    assert _kinds(find_many([partner])) == [["phone"]]


def test_digits_that_may_hold_a_removed_number_are_read_again(memo: CleanTexts) -> None:
    """A remembered text with as many digits as a removed number goes through the full pass."""
    text = "rif 3471234"  # seven digits, no valid number of their own
    assert find_many([text]) == [[]]
    assert memo.digits(text) == 7
    # The OSS sent an invalid number (a typo): it is searched for by its raw digits.
    removed = ValueSet.compile(["347-1234"])
    assert removed.shortest == 7
    assert memo.split([text], removed.shortest) == ([text], [])
    found = find_many([text], removed)
    assert _kinds(found) == [["removed_value"]]
    assert text[found[0][0].start : found[0][0].end] == "3471234"


def test_thorough_scans_ignore_the_memo(memo: CleanTexts) -> None:
    """The second opinion (thorough) reads every text: the memo holds default-pass results."""
    find_many(["guasto LED"], thorough=True)
    assert len(memo) == 0


def test_the_memo_starts_again_when_full() -> None:
    """Past its capacity the memo is emptied, so one-off texts cannot grow it without bound."""
    memo = CleanTexts(enabled=True)
    for i in range(CAPACITY):
        memo.add(f"t{i}", 1)
    assert len(memo) == CAPACITY
    memo.add("one more", 0)
    assert len(memo) == 1
    assert memo.digits("one more") == 0


def test_a_fixed_hash_seed_turns_the_memo_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PYTHONHASHSEED set to a number, hashes are predictable: nothing is remembered."""
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    fixed = CleanTexts()
    fixed.add("productOrderItem", 0)
    assert not fixed.enabled
    assert fixed.digits("productOrderItem") is None
    monkeypatch.setenv("PYTHONHASHSEED", "random")
    assert CleanTexts().enabled
    monkeypatch.delenv("PYTHONHASHSEED")
    assert CleanTexts().enabled


def test_find_many_reads_each_distinct_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated texts (member names) are joined once; every position gets its findings."""
    monkeypatch.setattr(finder, "CLEAN", CleanTexts(enabled=False))
    seen: list[str] = []
    real = finder._find

    def spy(text: str, *args: object, **kwargs: object) -> object:
        seen.append(text)
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(finder, "_find", spy)
    texts = ["id", "tel 347 123 4567", "id", "tel 347 123 4567", "name"]
    found = find_many(texts)
    assert seen == ["id\x00tel 347 123 4567\x00name"]
    assert _kinds(found) == [[], ["phone"], [], ["phone"], []]
    assert found[1] == found[3] and found[1] is not found[0]


_TEXTS = st.one_of(
    surroundings(),
    phone_spellings().map(lambda p: f"tel {p[0]}"),
    email_spellings().map(lambda e: f"scrivere a {e[0]}"),
    st.sampled_from(["productOrderItem", "Mario Rossi", "signora Rossi", "interno 12", "@type"]),
)
_VALUES = st.lists(
    st.one_of(
        st.sampled_from(["Mario Rossi", "+39 347 123 4567", "interno 12", "RSSMRA80A01H501U"]),
        phone_spellings().map(lambda p: p[0]),
        email_spellings().map(lambda e: e[0]),
    ),
    max_size=3,
)


@settings(max_examples=80, deadline=None)
@given(
    messages=st.lists(
        st.tuples(st.lists(_TEXTS, min_size=1, max_size=8), _VALUES, _VALUES),
        min_size=2,
        max_size=4,
    )
)
def test_the_memo_never_changes_a_finding(
    messages: list[tuple[list[str], list[str], list[str]]],
) -> None:
    """A stream of messages gives the same findings with the memo as without it."""
    with_memo, without = CleanTexts(enabled=True), CleanTexts(enabled=False)
    for texts, removed_values, allowed_values in messages:
        allowed = ValueSet.compile(allowed_values, search=False)
        removed = ValueSet.compile(removed_values).without(allowed)
        results = []
        for memo in (with_memo, without):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(finder, "CLEAN", memo)
                results.append(find_many(texts, removed, allowed))
        assert results[0] == results[1]
