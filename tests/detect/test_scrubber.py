"""Tests for proxy.detect.scrubber: surgical replacement, allowed values, and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from proxy.detect import PLACEHOLDER, Scrubber, ValueSet
from proxy.detect.scrubber import Remembering
from tests.detect.strategies import email_spellings, phone_spellings, surroundings


def test_scrub_keeps_everything_but_the_personal_data() -> None:
    """Measurements, dates, order ids and the codice migrazione survive; contacts do not."""
    text = (
        "LED LOS rosso, attenuazione -27,5 dBm dal 12/03/2026. Ordine ORD-2026-000123, "
        "codice migrazione TIM0612345678001A. Richiamare 347.123.45.67 o mario@example.it."
    )
    scrubbed, count = Scrubber().scrub(text, (), ())
    assert count == 2
    assert scrubbed == text.replace("347.123.45.67", PLACEHOLDER).replace(
        "mario@example.it", PLACEHOLDER
    )


def test_allowed_values_win_over_known_values() -> None:
    """A value the message keeps elsewhere (the number to port) is never scrubbed."""
    text = "linea 02 8765 4321, cliente 338 9876543"
    known = ["0287654321", "3389876543"]
    assert Scrubber().scrub(text, known, ["0287654321"]) == (
        f"linea 02 8765 4321, cliente {PLACEHOLDER}",
        1,
    )


def test_compiled_value_sets_give_the_same_result() -> None:
    """Precompiled ValueSets (once per message) behave like the raw sequences."""
    text = "sig. Rossi, tel 3389876543, partner 02 4567 8900"
    known, allowed = ["Mario Rossi", "3389876543"], ["+390245678900"]
    raw = Scrubber().scrub(text, known, allowed)
    compiled = Scrubber().scrub(text, ValueSet.compile(known), ValueSet.compile(allowed))
    assert raw == compiled == (f"sig. {PLACEHOLDER}, tel {PLACEHOLDER}, partner 02 4567 8900", 2)


def test_a_custom_placeholder_is_used() -> None:
    """The replacement text is configurable."""
    assert Scrubber(placeholder="***").scrub("tel 3471234567", (), ()) == ("tel ***", 1)


def test_a_placeholder_that_is_personal_data_is_refused() -> None:
    """A placeholder the detectors would flag could never scrub clean."""
    with pytest.raises(ValueError, match="placeholder"):
        Scrubber(placeholder="3471234567")


def test_encoded_matches_are_replaced_in_their_encoding() -> None:
    """A number written with character references is replaced reference and all."""
    text = "tel &#51;&#52;&#55;1234567 ok"
    assert Scrubber().scrub(text, (), ()) == (f"tel {PLACEHOLDER} ok", 1)


@settings(max_examples=150, deadline=None)
@given(surroundings(), phone_spellings(), surroundings())
def test_planted_phone_is_always_found_and_only_it_replaced(
    before: str, phone: tuple[str, str], after: str
) -> None:
    """Any spelling of a valid number is found; the text around it comes out unchanged."""
    spelled, key = phone
    text = f"{before} {spelled} {after}"
    matches = Scrubber().find(text, (), ())
    assert [m.key for m in matches] == [key]
    assert Scrubber().scrub(text, (), ()) == (f"{before} {PLACEHOLDER} {after}", 1)


@settings(max_examples=150, deadline=None)
@given(surroundings(), email_spellings(), surroundings())
def test_planted_email_is_always_found_and_only_it_replaced(
    before: str, email: tuple[str, str], after: str
) -> None:
    """Any case and disguise of an address is found with its real key; the rest survives."""
    spelled, key = email
    text = f"{before} {spelled} {after}"
    matches = Scrubber().find(text, (), ())
    assert [m.key for m in matches] == [key]
    assert Scrubber().scrub(text, (), ()) == (f"{before} {PLACEHOLDER} {after}", 1)


@settings(max_examples=100, deadline=None)
@given(surroundings(), phone_spellings(), phone_spellings(), surroundings())
def test_allowed_phone_is_never_scrubbed(
    before: str, allowed: tuple[str, str], other: tuple[str, str], after: str
) -> None:
    """An allowed number survives in any spelling, next to a number that is scrubbed."""
    (allowed_text, allowed_key), (other_text, other_key) = allowed, other
    text = f"{before} {allowed_text} e {other_text} {after}"
    scrubbed, count = Scrubber().scrub(text, (), (allowed_key,))
    if other_key == allowed_key:
        assert (scrubbed, count) == (text, 0)
    else:
        assert (scrubbed, count) == (f"{before} {allowed_text} e {PLACEHOLDER} {after}", 1)


@settings(max_examples=100, deadline=None)
@given(surroundings(), phone_spellings(), email_spellings(), surroundings())
def test_scrubbing_twice_changes_nothing_more(
    before: str, phone: tuple[str, str], email: tuple[str, str], after: str
) -> None:
    """Scrubbed text holds nothing the scrubber (or the guard) would still find."""
    text = f"{before} {phone[0]}, {email[0]} {after}"
    once, _ = Scrubber(thorough=True).scrub(text, (), ())
    assert Scrubber(thorough=True).scrub(once, (), ()) == (once, 0)


@settings(max_examples=100, deadline=None)
@given(surroundings(), phone_spellings(), email_spellings(), surroundings())
def test_removed_values_are_found_in_any_spelling(
    before: str, phone: tuple[str, str], email: tuple[str, str], after: str
) -> None:
    """A number and an address the policy removed are found again as removed values."""
    text = f"{before} {phone[0]} / {email[0]} {after}"
    matches = Scrubber().find(text, (phone[1], email[1]), ())
    assert [m.kind for m in matches] == ["removed_value", "removed_value"]


def test_remembering_notes_only_the_texts_found_clean() -> None:
    """A message's scrubber remembers clean texts for the guard, never the ones it changed."""
    remembering = Remembering(Scrubber())
    clean, dirty = "guasto LED LOS rosso", "richiamare al 347 123 4567"
    assert remembering.scrub(clean, (), ()) == (clean, 0)
    scrubbed, count = remembering.scrub(dirty, (), ())
    assert count == 1
    assert remembering.clean == {clean}
    assert dirty not in remembering.clean and scrubbed not in remembering.clean


def test_a_primed_scrubber_gives_what_the_plain_one_gives() -> None:
    """One pass over the message's texts, then each scrub is a look-up with the same result;
    other values, or a text the pass did not see, go to the detectors as before."""
    texts = [
        "guasto LED LOS rosso",
        "richiamare Rossi al 347 123 4567",
        "mail a@b.it, 06 1234 5678",
    ]
    known, allowed = ValueSet.compile(["Mario Rossi"]), ValueSet.compile(["+39 06 1234 5678"])
    remembering = Remembering(Scrubber())
    remembering.prime(texts, known, allowed)
    assert remembering.clean == {texts[0]}
    for text in texts:
        assert remembering.scrub(text, known, allowed) == Scrubber().scrub(text, known, allowed)
    other = ValueSet.compile(["Luca Neri"])
    assert remembering.scrub(texts[1], other, allowed) == Scrubber().scrub(texts[1], other, allowed)
    unseen = "sig. Rossi"
    assert remembering.scrub(unseen, known, allowed) == (f"sig. {PLACEHOLDER}", 1)
