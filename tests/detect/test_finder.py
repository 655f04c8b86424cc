"""Tests for proxy.detect.finder: the shared entry point, its cheap gate and its promotions."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.detect.finder import _nothing_to_see, compiled, find
from proxy.detect.known import ValueSet
from tests.detect.strategies import email_spellings, phone_spellings, surroundings


def test_short_codes_pass_the_gate_untouched() -> None:
    """Enumerations, short codes and times are answered by the gate without detectors."""
    for text in ("MIGRAZIONE", "FTTH_GPON", "VIALE", "148", "14:30", "  \n  ", ""):
        assert _nothing_to_see(text, ValueSet(), query=False)


def test_the_gate_lets_through_what_may_hold_data() -> None:
    """Digits, ``@``, long text, encodings and non-ASCII all go to the detectors."""
    for text in ("3471234567", "a@b.it", "x" * 16, "&#51;", "３４７"):
        assert not _nothing_to_see(text, ValueSet(), query=False)


def test_the_gate_checks_removed_names_in_short_text() -> None:
    """A short field holding a removed name is not waved through."""
    removed = ValueSet.compile(["Giulia Bianchi"])
    assert not _nothing_to_see("Bianchi", removed, query=False)
    assert find("Bianchi", removed)[0].kind == "removed_value"


def test_base64_attachments_are_skipped() -> None:
    """Base64 content is left to the policy (drop or inspect); the guard does not decode it."""
    blob = base64.b64encode(b"Cellulare: 347 123 4567 " * 20).decode()
    assert find(blob) == []


def test_long_prose_is_not_mistaken_for_base64() -> None:
    """Words and spaces without punctuation are prose, however long: they are scanned."""
    text = "guasto cliente attenuazione " * 5 + "+39 02 1234 5678 " + "guasto " * 5
    assert [m.kind for m in find(text)] == ["phone"]


def test_detections_of_removed_values_are_promoted() -> None:
    """A detected e-mail or identifier that the policy removed is reported as removed_value."""
    removed = compiled(["Mario@Example.it", "RSSMRA80A01H501U"])
    kinds = [m.kind for m in find("mario+x@example.it, rss mra 80a01 h501u", removed)]
    assert kinds == ["removed_value", "removed_value"]


def test_allowed_values_are_dropped_by_key_and_by_span() -> None:
    """An allowed phone in another spelling, and anything inside an allowed literal, pass."""
    allowed = compiled(["+39 02 4567 8900", "Via Giulia Bianchi"])
    removed = compiled(["Giulia Bianchi"]).without(allowed)
    assert find("NOC 02/45678900, sede in via Giulia Bianchi 3", removed, allowed) == []


@settings(max_examples=60, deadline=None)
@given(surroundings(), phone_spellings(), email_spellings(), surroundings())
def test_the_second_opinion_only_adds_findings(
    before: str, phone: tuple[str, str], email: tuple[str, str], after: str
) -> None:
    """The second opinion only ever adds matches: it never undoes a finding of the chain pass."""
    text = f"{before} {phone[0]} {after} {email[0]}"
    fast = {(m.start, m.end) for m in find(text)}
    thorough = {(m.start, m.end) for m in find(text, thorough=True)}
    assert fast <= thorough


@given(st.text(max_size=40))
def test_find_never_fails_and_spans_stay_inside_the_text(text: str) -> None:
    """Any input is scanned without error; every match lies within the text."""
    for match in find(text, thorough=True):
        assert 0 <= match.start < match.end <= len(text)


@settings(max_examples=150, deadline=None)
@given(
    allowed=st.lists(
        st.sampled_from(["06 9480 1234", "Roma Sud", "via appia", "3471234567"]), max_size=3
    ),
    text=st.lists(
        st.sampled_from(["06 9480 1234", "Roma Sud", "347 123 4567", "via Appia 1", "x@y.it", " "]),
        max_size=8,
    ).map(" ".join),
)
def test_an_allowed_span_drops_exactly_the_hits_inside_it(allowed: list[str], text: str) -> None:
    """A hit survives unless it lies inside an occurrence of an allowed literal (or its key is
    allowed): the same verdict as comparing each hit with every occurrence."""
    values = ValueSet.compile(allowed)
    every = find(text)
    kept = find(text, ValueSet(), values)
    folded = text.lower()
    spans = [
        (at, at + len(lit))
        for lit in values.literals
        for at in range(len(folded))
        if folded.startswith(lit, at)
    ]
    expected = [
        hit
        for hit in every
        if hit.key not in values.keys and not any(s <= hit.start and hit.end <= e for s, e in spans)
    ]
    assert kept == expected
