"""Another customer in the same order: the benchmark payloads with their personal data redrawn.

Real traffic carries a new customer in every message, in the same vocabulary (member names,
enumerations, product names, partner contacts). :func:`varied` rewrites a payload's body that
way: every person's name of the fixtures becomes one drawn from a pool (in the same case), every
chain of seven or more digits keeps its first three digits (the prefix that makes a mobile or a
landline; after a written ``39``/``0039``) and gets the others redrawn, separators kept, and every
codice fiscale is replaced by another valid one. ISO dates are left alone (redrawn, they could
read as numbers), and so are speed profiles (``1000/300``: product vocabulary). The spellings
of one number in several places no longer agree with each other, so a little less is found as
a removed value than in a real order; everything else costs what it would.

Every value drawn is invented; the draw is seeded, so a run can be repeated.
"""

from __future__ import annotations

import random
import re
import string
from typing import Final

from stdnum.it import codicefiscale

#: The people of the benchmark payloads (customers, referents, neighbours, back office).
FIXTURE_NAMES: Final = (
    *("Mario", "Rossi", "Laura", "Bianchi", "Bruno", "Ferrari", "Giulia", "Marco", "Luca"),
    "Colombo",
)
_POOL: Final = (
    *("Alessandro", "Chiara", "Davide", "Elena", "Federico", "Francesca", "Giorgio", "Ilaria"),
    *("Lorenzo", "Martina", "Nicola", "Paola", "Riccardo", "Sara", "Stefano", "Valentina"),
    *("Esposito", "Romano", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "Costa"),
    *("Giordano", "Mancini", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro"),
)
_NAMES: Final = re.compile(rf"\b(?:{'|'.join(FIXTURE_NAMES)})\b", re.IGNORECASE)
_CHAIN: Final = re.compile(r"[0-9](?:[ \t.\-/()]{0,3}[0-9]){6,}")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PROFILE: Final = re.compile(r"[0-9]{3,5}/[0-9]{2,4}")
_CF: Final = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{6}[0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{2}[A-Za-z]"
    r"[0-9LMNPQRSTUV]{3}[A-Za-z](?![A-Za-z0-9])"
)
_MONTHS: Final = "ABCDEHLMPRST"


def _same_case(template: str, word: str) -> str:
    if template.isupper():
        return word.upper()
    if template.islower():
        return word.lower()
    return word.capitalize()


def _chain(match: re.Match[str], rnd: random.Random) -> str:
    text = match.group()
    if _ISO_DATE.search(text) or _PROFILE.fullmatch(text):
        return text
    digits = "".join(ch for ch in text if ch.isdigit())
    country = next((p for p in ("0039", "39") if digits.startswith(p) and len(digits) > 10), "")
    keep = len(country) + 3
    out, seen = [], 0
    for char in text:
        if char.isdigit():
            seen += 1
            out.append(char if seen <= keep else str(rnd.randrange(10)))
        else:
            out.append(char)
    return "".join(out)


def _codice_fiscale(match: re.Match[str], rnd: random.Random) -> str:
    letters = "".join(rnd.choice(string.ascii_uppercase) for _ in range(6))
    day = rnd.randint(1, 28) + rnd.choice((0, 40))
    town = rnd.choice(string.ascii_uppercase) + f"{rnd.randint(1, 999):03d}"
    body = f"{letters}{rnd.randint(0, 99):02d}{rnd.choice(_MONTHS)}{day:02d}{town}"
    code = body + codicefiscale.calc_check_digit(body)
    return code if match.group().isupper() else code.lower()


def varied(body: bytes, rnd: random.Random) -> bytes:
    """``body`` (UTF-8 JSON or XML) with another customer's names, numbers and codice fiscale."""
    text = body.decode("utf-8")
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        found = match.group()
        drawn = names.setdefault(found.lower(), rnd.choice(_POOL))
        return _same_case(found, drawn)

    text = _CF.sub(lambda m: _codice_fiscale(m, rnd), text)
    text = _NAMES.sub(name, text)
    text = _CHAIN.sub(lambda m: _chain(m, rnd), text)
    return text.encode("utf-8")
