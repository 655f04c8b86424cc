"""Tests for proxy.detect.phones: chains, validation, splitting and the second opinion."""

from __future__ import annotations

from proxy.detect.normalise import prepare
from proxy.detect.phones import MIN_DIGITS, find, national_of, validate


def _found(text: str, *, thorough: bool = False) -> list[tuple[str, str]]:
    mapped = prepare(text)
    spans = [(mapped.span(m.start, m.end), m.key) for m in find(mapped.text, thorough=thorough)]
    return [(text[s:e], key) for (s, e), key in spans]


def test_validate_reads_italian_numbers_and_country_codes() -> None:
    """National numbers are Italian; ``+``, ``00`` and a bare ``39`` lead to a country code."""
    assert validate("3471234567", False) == "+393471234567"
    assert validate("0612345678", False) == "+390612345678"
    assert validate("00442079460958", False) == "+442079460958"
    assert validate("442079460958", True) == "+442079460958"
    assert validate("393471234567", False) == "+393471234567"


def test_validate_refuses_invalid_and_voicemail_numbers() -> None:
    """Numbers outside the metadata, and Italy's 12-digit voicemail range, are no phones."""
    assert validate("12032026", False) is None
    assert validate("347123456706", False) is None


def test_national_of_strips_the_country_code() -> None:
    """The national significant number keeps Italy's leading zero."""
    assert national_of("+390612345678") == "0612345678"
    assert national_of("+12125550123") == "2125550123"


def test_spellings_of_one_number_share_one_key() -> None:
    """Separators, brackets, prefixes and fullwidth digits all give the same E.164 key."""
    spellings = [
        "347.123.45.67",
        "(347) 1234567",
        "+39 347 1234567",
        "0039-347-1234567",
        "３４７ １２３ ４５６７",
        "3 4 7 1 2 3 4 5 6 7",
    ]
    keys = {key for text in spellings for _, key in _found(text)}
    assert keys == {"+393471234567"}


def test_bracketed_trunk_zero_is_dropped_abroad_and_kept_in_italy() -> None:
    """``+44 (0)20`` dials without the 0; ``+39 (0)6`` keeps it (Italy has no trunk prefix)."""
    assert _found("+44 (0)20 7946 0958") == [("+44 (0)20 7946 0958", "+442079460958")]
    assert _found("+39 (0)6 1234 5678") == [("+39 (0)6 1234 5678", "+390612345678")]


def test_two_numbers_side_by_side_come_out_as_two() -> None:
    """A strong separator (`` - ``, ``/``) splits numbers that happen to form one chain."""
    assert [s for s, _ in _found("347 1234567 - 06 98765432")] == ["347 1234567", "06 98765432"]
    assert [s for s, _ in _found("3471234567/3389876543")] == ["3471234567", "3389876543"]


def test_identifier_tails_are_not_phones_but_what_follows_is() -> None:
    """``ord-2026-000123`` is an id; a number after it, past a space, is still found."""
    assert _found("ord-2026-000123") == []
    assert _found("ord-2026-000123 3471234567") == [("3471234567", "+393471234567")]
    assert _found("tel-3471234567") == [("3471234567", "+393471234567")]


def test_short_numbers_are_never_phones() -> None:
    """Fewer than MIN_DIGITS digits is never a finding, even when valid (6-digit landlines)."""
    assert MIN_DIGITS == 7
    assert _found("061234") == []


def test_second_opinion_adds_nothing_the_chain_pass_has() -> None:
    """PhoneNumberMatcher's hits overlapping a chain hit are dropped (no extension swallowed)."""
    assert _found("+39 06 1234 5678 int. 204", thorough=True) == [
        ("+39 06 1234 5678", "+390612345678")
    ]


def test_second_opinion_respects_protected_spans() -> None:
    """The second opinion sees masked text, so it cannot flag a date or an IP address."""
    assert _found("il 03/12/2026 alle 14:30 da 192.168.1.10", thorough=True) == []


def test_a_number_before_an_amount_or_a_unit_is_still_a_number() -> None:
    """A measurement or a price never starts inside a chain, whatever the separators; alone
    it is protected as before."""
    assert _found("347 - 765 - 4321 € 29,90") == [("347 - 765 - 4321", "+393477654321")]
    assert _found("(02) 10000.000 € 29,90") == [("(02) 10000.000", "+390210000000")]
    assert _found("320 - 000 - 1000 Mbps") == [("320 - 000 - 1000", "+393200001000")]
    assert _found("profilo 1000/300 Mbps, canone 1.234,56 €, -27,5 dBm") == []


def test_a_number_whose_tail_reads_as_a_date_is_a_number() -> None:
    """``(320) 01.1.2000`` is a mobile, not a prefix before the 1st of January 2000; a date
    written after a whole number, or after a code, stays a date."""
    assert [t for t, _ in _found("tel(320) 01.1.2000")] == ["(320) 01.1.2000"]
    assert [t for t, _ in _found("+39 320 01.1.2000")] == ["+39 320 01.1.2000"]
    assert [t for t, _ in _found("richiamare 347 1234567 01.01.2020")] == ["347 1234567"]
    assert _found("pratica 123 01.01.2020") == []
    assert _found("fascia 9-13 12/03/2026") == []
