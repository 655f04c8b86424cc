"""The end customer's values planted in a fixture, and a search for them in any spelling.

The fixtures plant personal data everywhere a real OSS puts it: structured contacts, notes,
CDATA, attributes, extensions, fullwidth digits, ``0039``/``+39`` prefixes, mixed-case e-mails,
base64 attachments. :func:`planted` collects it from the fixture itself (phones and identifiers
by their digits, e-mails, codici fiscali, the names of persons in structured fields), minus the
values that must survive (``keep``: codice migrazione, number to port, the faulty line, the
OLO's own NOC). :func:`found` then looks for every one of them in what the sandbox received:
numbers with any separators and prefixes, e-mails in any case, codici fiscali with spaces,
names as phrases and word by word, inside decoded (and inflated) base64 attachments too.

The search is independent of civetta's own detectors on purpose: it is a plain scan for known
values, so that a detector that misses a spelling cannot hide the miss here.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import phonenumbers
from lxml import etree
from stdnum.it import codicefiscale

from proxy.formats.soap import parse_xml

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CODICE_FISCALE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{6}[0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{3}[A-Za-z](?![A-Za-z0-9])"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]{64,}={0,2}")
_SEPARATORS = re.compile(r"[\s.\-/]")
_NAME_SHAPE = re.compile(r"[^\W\d_]+(?: [^\W\d_]+){1,3}")
#: Words of a name that are not searched alone (particles, titles).
_NOT_A_NAME = frozenset({"di", "da", "de", "del", "della", "lo", "la", "le", "sig", "sigra"})
#: XML elements whose digits are address codes, never phone numbers.
_CODES = frozenset({"codiceIstat", "idCivicoNetMap", "cap", "civico"})
#: JSON keys and XML local names that hold a person's name in the fixtures.
_NAME_FIELDS = frozenset(
    {"givenName", "familyName", "nominativo", "referente", "nome", "ragioneSociale", "author"}
)
_PERSON_ROLES = frozenset({"customer", "lineHolder", "siteContact", "contact"})
#: XML parents whose ``nome`` is not a person's (a file's; a natural person's is joined).
_NOT_PERSONS = frozenset({"allegato", "personaFisica"})


def _canonical(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _digits(text: str) -> str:
    return "".join(c for c in _canonical(text) if c.isdigit())


def _words(text: str) -> str:
    return " ".join(_canonical(text).casefold().split())


@dataclass(frozen=True, slots=True)
class Planted:
    """The values of one fixture that must not reach the incumbent."""

    #: Phone numbers and other personal numbers, as national significant numbers (digits).
    numbers: frozenset[str]
    emails: frozenset[str]
    codici_fiscali: frozenset[str]
    #: Names of persons as written in structured fields (case-folded, single-spaced).
    names: frozenset[str]
    #: The words of those names that look like given names or surnames.
    name_words: frozenset[str]

    def every(self) -> list[str]:
        """Every planted value, sorted (what :func:`found` returns when all are present)."""
        return sorted(
            [
                *self.numbers,
                *self.emails,
                *self.codici_fiscali,
                *self.names,
                *self.name_words,
            ]
        )


@dataclass(frozen=True, slots=True)
class Texts:
    """Every string of a message, the names in its persons' name fields, and its address codes
    (digits that are never phone numbers: ISTAT and NetMap codes, postcodes, house numbers)."""

    strings: tuple[str, ...]
    names: tuple[str, ...]
    codes: frozenset[str] = frozenset()


def json_texts(document: Any) -> Texts:
    """Keys, strings and numbers of a JSON document; the names of persons' name fields."""
    strings: list[str] = []
    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            strings.append(repr(value))
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, child in value.items():
                strings.append(str(key))
                if isinstance(child, str) and (
                    key in _NAME_FIELDS or (key == "name" and _is_person(value))
                ):
                    names.append(child)
                walk(child)

    walk(document)
    return Texts(tuple(strings), tuple(names))


def _is_person(party: dict[str, Any]) -> bool:
    kinds = {party.get("@referredType"), party.get("@type")}
    return "Individual" in kinds or party.get("role") in _PERSON_ROLES


def xml_texts(data: bytes) -> Texts:
    """Text (CDATA and character references resolved), tails, attributes, comments and
    processing instructions of an XML document, and its persons' names (``nome`` and
    ``cognome`` of a ``personaFisica`` joined)."""
    root = parse_xml(data).getroot()
    strings: list[str] = []
    names: list[str] = []
    codes: set[str] = set()
    for node in root.iter():
        if node.tail and node.tail.strip():
            strings.append(node.tail)
        if isinstance(node, etree._Comment | etree._ProcessingInstruction):
            strings.append(node.text or "")
            continue
        strings.extend(str(value) for value in node.attrib.values())
        local = etree.QName(node).localname
        parent = node.getparent()
        within = "" if parent is None else etree.QName(parent).localname
        if local == "personaFisica":
            given, family = node.findtext("{*}nome"), node.findtext("{*}cognome")
            names.append(f"{given} {family}")
        if node.text is None:
            continue
        strings.append(node.text)
        if local in _CODES:
            codes.add(node.text)
        elif local in _NAME_FIELDS and not (local == "nome" and within in _NOT_PERSONS):
            names.append(node.text)
    return Texts(tuple(strings), tuple(names), frozenset(codes))


def texts_of(body: bytes, kind: str) -> Texts:
    """:func:`json_texts` or :func:`xml_texts` of ``body`` (``kind``: ``json`` or ``xml``)."""
    return json_texts(json.loads(body)) if kind == "json" else xml_texts(body)


def _attachments(strings: Iterable[str]) -> Iterator[str]:
    """The readable content of base64 blobs (inflated when zlib-compressed)."""
    for text in strings:
        if not _BASE64.fullmatch(text.strip()):
            continue
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        with contextlib.suppress(zlib.error):
            raw = zlib.decompress(raw)
        yield raw.decode("latin-1")


def planted(body: bytes, kind: str, keep: Iterable[str] = ()) -> Planted:
    """The personal values of a fixture (``kind``: ``json`` or ``xml``) except ``keep``."""
    texts = texts_of(body, kind)
    kept = list(keep)
    kept_numbers = {_national(_digits(value), value) for value in kept}
    kept_text = _words(" ".join(kept))
    numbers: set[str] = set()
    emails: set[str] = set()
    codes: set[str] = set()
    for text in texts.strings:
        if text in texts.codes:
            continue
        canonical = _canonical(text)
        for match in phonenumbers.PhoneNumberMatcher(
            canonical, "IT", leniency=phonenumbers.Leniency.VALID
        ):
            numbers.add(phonenumbers.national_significant_number(match.number))
        emails.update(found.casefold() for found in _EMAIL.findall(canonical))
        codes.update(
            found.upper()
            for found in _CODICE_FISCALE.findall(canonical)
            if codicefiscale.is_valid(found.upper())
        )
    names = {_words(name) for name in texts.names} - {""}
    names = {name for name in names if name not in kept_text}
    # A name of one word (a given or family name field) is searched as a word, not a phrase.
    words = {name for name in names if " " not in name}
    names -= words
    words |= {
        word
        for name in names
        if _NAME_SHAPE.fullmatch(name)
        for word in name.split()
        if len(word) >= 3 and word not in _NOT_A_NAME
    }
    words -= set(kept_text.split())
    return Planted(
        frozenset(numbers - kept_numbers),
        frozenset(emails),
        frozenset(codes),
        frozenset(names),
        frozenset(words),
    )


def _national(digits: str, raw: str) -> str:
    international = _canonical(raw).lstrip().startswith(("+", "00", "(+"))
    if international and digits.startswith("0039"):
        return digits[4:]
    if international and digits.startswith("39"):
        return digits[2:]
    return digits


def _number_pattern(number: str) -> re.Pattern[str]:
    separated = r"[\s.\-/()]*".join(number)
    prefix = r"(?:(?:\+|00)?\s*\(?\s*39\s*\)?[\s.\-/]*)?"
    return re.compile(rf"(?<!\d){prefix}{separated}(?!\d)")


def haystack(body: bytes, kind: str) -> str:
    """Everything readable in a message: its strings and its decoded attachments, canonical."""
    strings = texts_of(body, kind).strings
    return _canonical("\n".join([*strings, *_attachments(strings)]))


def found(planted_values: Planted, text: str) -> list[str]:
    """The planted values present in ``text`` (a :func:`haystack`), in any spelling, sorted."""
    hits = [n for n in sorted(planted_values.numbers) if _number_pattern(n).search(text)]
    folded = text.casefold()
    hits += [e for e in sorted(planted_values.emails) if e in folded]
    compact = _SEPARATORS.sub("", text).upper()
    hits += [c for c in sorted(planted_values.codici_fiscali) if c in compact]
    spaced = _words(text)
    hits += [n for n in sorted(planted_values.names) if n in spaced]
    hits += [
        w for w in sorted(planted_values.name_words) if re.search(rf"(?<!\w){w}(?!\w)", folded)
    ]
    return sorted(hits)


def has_number(text: str, number: str) -> bool:
    """Whether ``text`` holds the phone ``number`` (E.164 or national) in any spelling."""
    return bool(_number_pattern(_national(_digits(number), number)).search(text))
