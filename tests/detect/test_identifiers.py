"""Tests for proxy.detect.identifiers: codici fiscali and partite IVA with valid checks."""

from __future__ import annotations

from proxy.detect.identifiers import compact, find, valid_codice_fiscale, valid_partita_iva


def _found(text: str) -> list[tuple[str, str, str]]:
    digits = sum(ch.isdigit() for ch in text)
    return [(text[m.start : m.end], m.kind, m.key) for m in find(text, digits)]


def test_valid_codice_fiscale_in_any_case_and_with_omocodia() -> None:
    """Check letter and birth date decide; case does not; omocodia letters stand for digits."""
    assert valid_codice_fiscale("RSSMRA80A01H501U")
    assert valid_codice_fiscale("rssmra80a01h501u")
    assert valid_codice_fiscale("RSSMRA80A01H5LMX")
    assert not valid_codice_fiscale("RSSMRA80A01H501X")
    assert not valid_codice_fiscale("RSSMRA80A01H501")


def test_codice_fiscale_printed_in_groups_is_found_whole() -> None:
    """``RSS MRA 80A01 H501U`` is one code; the key is compact and upper case."""
    assert _found("CF: RSS MRA 80A01 H501U.") == [
        ("RSS MRA 80A01 H501U", "codice_fiscale", "RSSMRA80A01H501U")
    ]


def test_codice_fiscale_with_a_wrong_check_letter_is_ignored() -> None:
    """Sixteen plausible characters with a wrong check letter are not a codice fiscale."""
    assert _found("CF RSSMRA80A01H501X") == []


def test_codice_fiscale_inside_a_longer_token_is_ignored() -> None:
    """A code glued to other letters or digits is part of something else."""
    assert _found("XRSSMRA80A01H501U") == []


def test_partita_iva_needs_a_valid_check_digit() -> None:
    """Eleven digits count only with a valid check digit and office code."""
    assert valid_partita_iva("52601810477")
    assert not valid_partita_iva("52601810478")
    assert not valid_partita_iva("5260181047")


def test_partita_iva_with_country_prefix_is_found_whole() -> None:
    """``IT`` before the digits belongs to the match; the key is the eleven digits."""
    assert _found("VAT IT 52601810477") == [("IT 52601810477", "partita_iva", "52601810477")]


def test_compact_removes_separators_and_upper_cases() -> None:
    """The comparison form of an identifier."""
    assert compact("rss-mra.80a01 h501u") == "RSSMRA80A01H501U"
