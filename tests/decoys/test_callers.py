"""Callers and expected callers: normalisation, masking, matching."""

from __future__ import annotations

import pytest

from proxy.decoys.callers import Caller, ExpectedCaller, parse_caller, parse_expected


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("+39 347 123 4567", "number", "+393471234567"),
        ("3471234567", "number", "+393471234567"),
        ("0039 06 1234 5678", "number", "+390612345678"),
        ("Mario.Rossi@Example.IT", "email", "mario.rossi@example.it"),
        (None, "withheld", ""),
        ("Anonymous", "withheld", ""),
        ("  privato ", "withheld", ""),
        ("TIM", "sender", "TIM"),
        ("Offerte-5G", "sender", "OFFERTE-5G"),
    ],
)
def test_callers_are_normalised(text: str | None, kind: str, key: str) -> None:
    """Numbers become E.164 (Italian when national), addresses casefold, SMS senders upper."""
    assert parse_caller(text) == Caller(kind, key)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["12", "not a caller at all", "mario@", "+39 abc 1234567"])
def test_unreadable_callers_are_refused(text: str) -> None:
    """Anything that is no number, address, sender id or withheld marker is None."""
    assert parse_caller(text) is None


@pytest.mark.parametrize(
    ("caller", "masked"),
    [
        (Caller("number", "+393471234567"), "+39********67"),
        (Caller("email", "mario.rossi@example.it"), "m***@example.it"),
        (Caller("sender", "TIM"), "T***"),
        (Caller("withheld", ""), "withheld"),
    ],
)
def test_masked_forms_keep_only_a_hint(caller: Caller, masked: str) -> None:
    """Masks keep the country code and two digits, or one letter and the domain."""
    assert caller.masked() == masked
    if caller.key:
        assert caller.key not in masked


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("+39 06 1234 5678", ExpectedCaller("number", "+390612345678")),
        ("+3906999*", ExpectedCaller("prefix", "+3906999")),
        ("@Wholesale.Example.IT", ExpectedCaller("domain", "wholesale.example.it")),
        ("+39*", None),
        ("@nodot", None),
        ("wholesale.example.it", None),
    ],
)
def test_expected_callers_parse(text: str, entry: ExpectedCaller | None) -> None:
    """Numbers, prefixes of at least four digits, and @domains; anything else is refused."""
    assert parse_expected(text) == entry


def test_expected_callers_match_exactly() -> None:
    """A number matches itself, a prefix what starts with it, a domain only that domain."""
    number = ExpectedCaller("number", "+390612345678")
    prefix = ExpectedCaller("prefix", "+3906999")
    domain = ExpectedCaller("domain", "wholesale.example.it")
    assert number.matches(Caller("number", "+390612345678"))
    assert not number.matches(Caller("number", "+390612345679"))
    assert prefix.matches(Caller("number", "+390699912345"))
    assert not prefix.matches(Caller("number", "+390698812345"))
    assert domain.matches(Caller("email", "a@wholesale.example.it"))
    assert not domain.matches(Caller("email", "a@retail.wholesale.example.it"))
    assert not domain.matches(Caller("number", "+390612345678"))
    assert [str(e) for e in (number, prefix, domain)] == [
        "+390612345678",
        "+3906999*",
        "@wholesale.example.it",
    ]
