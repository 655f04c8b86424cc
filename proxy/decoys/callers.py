"""Calling parties and the incumbent's expected callers, normalised for comparison.

A caller is personal data of the caller: civetta keeps it only as a keyed commitment and a
masked form (see :mod:`proxy.decoys.contacts`). The expected callers come from the
configuration (the incumbent's operational numbers and e-mail domains); they are company
contacts, not personal data, so a match is recorded by naming the configured entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers

from proxy.detect import emails

CallerKind = Literal["number", "email", "sender", "withheld"]
ExpectedKind = Literal["number", "prefix", "domain"]

#: What switches and relays write when the calling party is not presented.
WITHHELD_WORDS: Final = frozenset(
    {"", "anonymous", "withheld", "private", "restricted", "unknown", "unavailable"}
    | {"anonimo", "privato", "sconosciuto", "riservato"}
)
_SENDER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}")
_DOMAIN: Final = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_PREFIX: Final = re.compile(r"\+[1-9][0-9]{3,14}\*")


def phone_e164(text: str) -> str | None:
    """``text`` as an E.164 number (Italian when written nationally), or None.

    Possible numbers are accepted, not only valid ones: the switch reports what it received,
    and an unallocated number calling a decoy is still a call.
    """
    stripped = text.strip()
    if not stripped or sum(ch.isdigit() for ch in stripped) < 3:
        return None
    if any(ch.isalpha() for ch in stripped):
        return None
    try:
        parsed = phonenumbers.parse(stripped, "IT")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email_key(text: str) -> str | None:
    """The comparison key of a whole e-mail address (casefolded), or None."""
    return emails.parse(text.strip())


def is_domain(text: str) -> bool:
    """Whether ``text`` is a lower-case DNS domain name with at least two labels."""
    return _DOMAIN.fullmatch(text) is not None


def domain_of(key: str) -> str:
    """The domain of an e-mail key."""
    return key.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Caller:
    """A calling party: an E.164 number, an e-mail key, an SMS sender name, or withheld."""

    kind: CallerKind
    key: str

    def masked(self) -> str:
        """A form that shows what kind of party called without identifying it.

        Numbers keep the country code and the last two digits; addresses keep the first
        character and the domain; sender names keep the first character.
        """
        if self.kind == "withheld":
            return "withheld"
        if self.kind == "number":
            code = f"+{phonenumbers.parse(self.key).country_code}"
            hidden = len(self.key) - len(code) - 2
            return code + "*" * max(hidden, 1) + self.key[-2:]
        if self.kind == "email":
            local, _, domain = self.key.partition("@")
            return f"{local[:1]}***@{domain}"
        return self.key[:1] + "***"


def parse_caller(text: str | None) -> Caller | None:
    """The caller as reported, or None when it is none of the known forms."""
    if text is None or text.strip().casefold() in WITHHELD_WORDS:
        return Caller("withheld", "")
    if "@" in text:
        key = email_key(text)
        return Caller("email", key) if key is not None else None
    number = phone_e164(text)
    if number is not None:
        return Caller("number", number)
    stripped = text.strip()
    # Alphanumeric SMS sender ids (at most 11 characters by the GSM standard).
    if _SENDER.fullmatch(stripped) and any(ch.isalpha() for ch in stripped):
        return Caller("sender", stripped.upper())
    return None


@dataclass(frozen=True, slots=True)
class ExpectedCaller:
    """One configured expected caller: a number, a number prefix or an e-mail domain."""

    kind: ExpectedKind
    value: str

    def matches(self, caller: Caller) -> bool:
        """Whether ``caller`` is this operational number, in this prefix, or of this domain."""
        if self.kind == "number":
            return caller.kind == "number" and caller.key == self.value
        if self.kind == "prefix":
            return caller.kind == "number" and caller.key.startswith(self.value)
        return caller.kind == "email" and domain_of(caller.key) == self.value

    def __str__(self) -> str:
        """The entry as written in the configuration (normalised)."""
        if self.kind == "prefix":
            return self.value + "*"
        return "@" + self.value if self.kind == "domain" else self.value


def parse_expected(text: str) -> ExpectedCaller | None:
    """``+390612345678``, ``+3906123*`` or ``@wholesale.example.it``; None when malformed."""
    stripped = text.strip()
    if stripped.startswith("@"):
        domain = stripped[1:].lower()
        return ExpectedCaller("domain", domain) if is_domain(domain) else None
    if stripped.endswith("*"):
        return ExpectedCaller("prefix", stripped[:-1]) if _PREFIX.fullmatch(stripped) else None
    number = phone_e164(stripped)
    return ExpectedCaller("number", number) if number is not None else None


def expected_match(expected: tuple[ExpectedCaller, ...], caller: Caller) -> ExpectedCaller | None:
    """The first configured entry ``caller`` matches, or None."""
    return next((entry for entry in expected if entry.matches(caller)), None)
