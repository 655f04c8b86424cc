"""Tests for proxy.detect.emails: addresses, keys, sub-addresses and disguises."""

from __future__ import annotations

import pytest

from proxy.detect.emails import disguised, find, key_of, mailbox, parse


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.key) for m in find(text)]


def test_key_is_casefolded_with_the_domain_in_punycode() -> None:
    """Case never matters, and an IDN compares equal to its punycode form."""
    assert key_of("Mario.Rossi", "EXAMPLE.it") == "mario.rossi@example.it"
    assert key_of("user", "exämple.it") == key_of("user", "xn--exmple-cua.it")


def test_mailbox_strips_the_sub_address() -> None:
    """``mario+ord1@x.it`` belongs to the mailbox ``mario@x.it``."""
    assert mailbox("mario+ord1@x.it") == "mario@x.it"
    assert mailbox("mario@x.it") == "mario@x.it"


def test_several_addresses_in_one_text_are_all_found() -> None:
    """Addresses separated by ``;`` or spaces are found one by one."""
    assert [s for s, _ in _found("a: mario@x.it;giulia@y.org e luca@z.com")] == [
        "mario@x.it",
        "giulia@y.org",
        "luca@z.com",
    ]


def test_sentence_punctuation_is_not_part_of_the_address() -> None:
    """A trailing full stop or angle bracket stays outside the match."""
    assert _found("scrivere a <Mario.Rossi@Example.IT>.") == [
        ("Mario.Rossi@Example.IT", "mario.rossi@example.it")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "mario.rossi [at] example [dot] it",
        "mario.rossi(at)example.it",
        "mario.rossi {at} example {punto} it",
        "mario.rossi <chiocciola> example.it",
        "mario.rossi at example dot it",
        "mario.rossi chiocciola example punto it",
        "MARIO.ROSSI(AT)EXAMPLE(DOT)IT",
    ],
)
def test_disguised_addresses_are_found_with_their_real_key(text: str) -> None:
    """Bracketed and bare-word disguises give the address they stand for."""
    assert _found(text) == [(text, "mario.rossi@example.it")]


def test_bare_words_need_a_known_tld() -> None:
    """ "ci vediamo at casa dot xyz" is prose: bare words count only before a common TLD."""
    assert _found("ordine at ufficio dot xyz") == []
    assert _found("meet at home") == []


def test_disguise_hint_is_cheap_and_specific() -> None:
    """Ordinary Italian text ("data", "stato") does not trigger the disguise search."""
    assert not disguised("stato della pratica: attivata in data odierna")
    assert disguised("mario (at) example.it")


def test_parse_accepts_only_a_whole_address() -> None:
    """``parse`` gives the key of a value that is one address, else None."""
    assert parse(" Mario@Example.it ") == "mario@example.it"
    assert parse("scrivere a mario@example.it") is None
    assert parse("mario@localhost") is None


def test_parse_reads_spaced_disguised_and_overlong_values_as_find_does() -> None:
    """The anchored fast path agrees with ``find`` at its edges (spaces, disguises, lengths)."""
    assert parse("mario @ example.it") == "mario@example.it"
    assert parse("mario[at]example[dot]it") == "mario@example.it"
    assert parse("mario@example.it.") is None
    assert parse("a@b@example.it") is None
    # find() looks at most 66 characters back from "@" and 258 forward: neither is a whole
    # address when longer, and the fast path must not say otherwise.
    assert parse("a" * 70 + "@example.it") is None
    assert parse("m@" + "b" * 300 + ".it") is None
    assert parse("a" * 60 + "@example.it") == "a" * 60 + "@example.it"


def test_json_ld_style_keys_are_not_addresses() -> None:
    """``@type`` and ``@referredType`` carry an ``@`` but no local part."""
    assert _found("@type\x00@referredType\x00x @ y") == []
