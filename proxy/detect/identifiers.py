"""Codici fiscali and partite IVA with valid check characters (python-stdnum).

A codice fiscale is 16 characters: surname (3 letters), name (3), year (2), month letter, day
(2, +40 for women), cadastral code of the birthplace (letter + 3), check letter; any of the
seven digits may be an omocodia letter (L M N P Q R S T U V for 0 to 9). Case is ignored, and one
space, dot or dash is tolerated between the groups people print apart (``RSS MRA 80A01 H501U``).
A partita IVA is 11 digits, optionally after ``IT``. Only values whose check character (and, for
the codice fiscale, birth date) is valid count: 16 random capitals or 11 random digits are not
personal data, and requiring validity keeps NetMap ids and order numbers out.
"""

from __future__ import annotations

import re
from typing import Final

from stdnum.it import codicefiscale, iva

from proxy.detect.spans import Match

_OMO = "[0-9LMNPQRSTUV]"
_SEP = "[ .-]?"
_CF = (
    rf"(?<![A-Za-z0-9])([A-Z]{{3}}){_SEP}([A-Z]{{3}}){_SEP}({_OMO}{{2}}[A-Z]{_OMO}{{2}}){_SEP}"
    rf"([A-Z]{_OMO}{{3}}){_SEP}([A-Z])(?![A-Za-z0-9])"
)
# Matched on upper-cased text when that keeps the length (always, for ASCII): without the
# IGNORECASE flag the engine runs noticeably faster.
_CODICE_FISCALE: Final = re.compile(_CF)
_CODICE_FISCALE_ANY_CASE: Final = re.compile(_CF, re.IGNORECASE)
# Runs of digits first (a pattern that starts with a class is scanned at C speed); exactly
# eleven, not glued to letters, and an optional "IT" prefix are checked per run.
_DIGIT_RUN: Final = re.compile(r"[0-9]{11,}")
_IT_PREFIX: Final = re.compile(r"(?<![A-Za-z0-9])[Ii][Tt] ?\Z")
_COMPACT: Final = re.compile(r"[\s./-]")
#: The same characters for ASCII text (``\s`` there is these ten), deleted at C speed: a long
#: value (an attachment a policy removed) would cost tens of microseconds in the pattern.
_COMPACT_ASCII: Final = str.maketrans("", "", " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f./-")
#: Below this length the pattern is the quicker of the two.
_SHORT: Final = 64


def valid_codice_fiscale(value: str) -> bool:
    """Whether ``value`` (compact, any case) is a codice fiscale with a valid check letter."""
    return len(value) == 16 and bool(codicefiscale.is_valid(value.upper()))


def valid_partita_iva(value: str) -> bool:
    """Whether ``value`` (11 digits) is a partita IVA with a valid check digit."""
    return len(value) == 11 and value.isdigit() and bool(iva.is_valid(value))


def compact(value: str) -> str:
    """``value`` without separators, upper case: the key identifiers are compared by."""
    if len(value) > _SHORT and value.isascii():
        return value.translate(_COMPACT_ASCII).upper()
    return _COMPACT.sub("", value).upper()


def find(text: str, digits: int) -> list[Match]:
    """Valid codici fiscali and partite IVA in canonical ``text`` (``digits``: how many it has).

    The key is the compact upper-case code.
    """
    matches = []
    if len(text) >= 16:
        upper = text.upper()
        same = len(upper) == len(text)
        pattern = _CODICE_FISCALE if same else _CODICE_FISCALE_ANY_CASE
        for found in pattern.finditer(upper if same else text):
            code = "".join(found.groups()).upper()
            if valid_codice_fiscale(code):
                matches.append(Match(found.start(), found.end(), "codice_fiscale", code))
    if digits >= 11:
        for found in _DIGIT_RUN.finditer(text):
            start, end = found.span()
            if end - start != 11 or (end < len(text) and text[end].isalnum()):
                continue
            number = found.group()
            prefix = _IT_PREFIX.search(text, max(0, start - 3), start)
            if prefix is None and start > 0 and text[start - 1].isalnum():
                continue
            if valid_partita_iva(number):
                first = start if prefix is None else prefix.start()
                matches.append(Match(first, end, "partita_iva", number))
    return matches
