"""Tests for proxy.detect.scrubber: surgical replacement, allowed values, and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.detect import PLACEHOLDER, Scrubber, ValueSet

# Surrounding text: words and technical tokens a note is made of, none of them personal.
# Small numbers come with their word ("piano 3"): loose digits next to each other ("3 3
# 1000/300") can spell a valid number, the price of finding "3 4 7 1 2 3 4 5 6 7".
WORDS = [
    "guasto",
    "LED",
    "LOS",
    "rosso",
    "cliente",
    "citofono",
    "portineria",
    "richiamare",
    "attenuazione",
    "-27,5 dBm",
    "profilo 1000/300",
    "1000/300 Mbps",
    "Mbps",
    "12/03/2026",
    "14:30",
    "08:00-13:00",
    "ORD-2026-000123",
    "TIM0612345678001A",
    "CAP 00185",
    "piano 3",
    "scala C",
    "Nicolò",
    "perché",
    "è",
    "ok.",
    "(urgente)",
    "192.168.1.10",
    "€ 29,90",
    "FTTH_GPON",
    "sollecito n. 2",
]
SEPARATORS = [" ", ".", "-", "/", ""]
PREFIXES = ["", "+39 ", "+39", "0039 ", "0039-", "+39-"]


@st.composite
def surroundings(draw: st.DrawFn) -> str:
    """A few words of harmless text (possibly none)."""
    return " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=6)))


@st.composite
def national_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """An Italian mobile or landline as (prefix group, rest), valid by the metadata."""
    mobile = draw(st.booleans())
    if mobile:
        head = "3" + draw(st.sampled_from("2456789")) + draw(st.sampled_from("0123456789"))
        rest = draw(st.text("0123456789", min_size=7, max_size=7))
    else:
        head = draw(st.sampled_from(["02", "06", "011", "081", "0471"]))
        rest = draw(st.text("0123456789", min_size=10 - len(head), max_size=10 - len(head)))
        if head == "06" and rest[0] == "6":
            rest = "5" + rest[1:]  # 066 needs a further digit check; stay in plain 06
    return head, rest


@st.composite
def phone_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number in a random human spelling, and its E.164 key."""
    head, rest = draw(national_numbers())
    separator = draw(st.sampled_from(SEPARATORS))
    cut = draw(st.integers(min_value=0, max_value=len(rest) - 3))
    groups = [head, rest[:cut], rest[cut:]] if cut >= 2 else [head, rest]
    spelled = draw(st.sampled_from(PREFIXES)) + separator.join(groups)
    if draw(st.booleans()):
        spelled = spelled.translate(str.maketrans("0123456789+", "０１２３４５６７８９＋"))
    if draw(st.booleans()):
        spelled = spelled[:2] + "\u200b" + spelled[2:]
    return spelled, f"+39{head}{rest}"


@st.composite
def email_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """An address in random case, possibly with a sub-address or a disguise, and its key."""
    local = draw(st.from_regex(r"[a-z]{1,8}(\.[a-z0-9]{1,6})?", fullmatch=True))
    tag = draw(st.sampled_from(["", "+ord1", "+x"]))
    domain = draw(st.from_regex(r"[a-z]{2,10}", fullmatch=True))
    tld = draw(st.sampled_from(["it", "com", "org", "eu"]))
    key = f"{local}{tag}@{domain}.{tld}"
    at, dot = draw(
        st.sampled_from([("@", "."), (" [at] ", " [dot] "), ("(at)", "."), (" at ", " dot ")])
    )
    spelled = f"{local}{tag}{at}{domain}{dot}{tld}"
    return draw(st.sampled_from([spelled, spelled.upper(), spelled.title()])), key


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
