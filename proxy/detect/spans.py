"""What a detection is, and the spans of text that look numeric but are not contact data.

Detectors report :class:`Match` values in the offsets of the text as it came (so a scrub
replaces exactly what was written). Before a chain of digits is read as a phone number,
:func:`protected` finds the parts of it that are dates, times, IP addresses, UUIDs,
measurements, amounts or IBANs, and bare numbers right after a label that names a non-contact
code (NetMap, ISTAT, pratica …): what the free text of an order is full of, and whose digits
would otherwise form plausible numbers. (Identifiers such as ``ORD-2026-000123`` are excluded by
the phone detector's own boundary rule.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal, NamedTuple

Kind = Literal["phone", "email", "codice_fiscale", "partita_iva", "removed_value"]

#: Which kind names an overlap of several detections (a removed value is the most specific).
PRIORITY: Final[dict[Kind, int]] = {
    "removed_value": 5,
    "codice_fiscale": 4,
    "partita_iva": 3,
    "email": 2,
    "phone": 1,
}


class Match(NamedTuple):
    """One detection: ``[start, end)`` in the original text, its kind, and a comparison key.

    ``key`` is the canonical identity compared with allowed values (E.164 for phones, the
    casefolded address for e-mails, the upper-case code for identifiers). It is personal data:
    never log it, never put it in an error.
    """

    start: int
    end: int
    kind: Kind
    key: str


def merge(matches: Iterable[Match]) -> list[Match]:
    """Overlapping matches joined into one, kind by :data:`PRIORITY`, sorted by start."""
    merged: list[Match] = []
    for match in sorted(matches, key=lambda m: (m.start, -m.end)):
        if merged and match.start < merged[-1].end:
            last = merged[-1]
            stronger = match if PRIORITY[match.kind] > PRIORITY[last.kind] else last
            merged[-1] = Match(last.start, max(last.end, match.end), stronger.kind, stronger.key)
        else:
            merged.append(match)
    return merged


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HOUR = r"(?:[01]?[0-9]|2[0-3])"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_RATES = r"(?i:[kmgt]?bit/s|[kmgt]?bps|[kmgt]b/s)"
_UNITS = (
    r"(?i:dBm|dBuV|dB|[kmgt]?bit/s|[kmgt]?bps|[kmgt]b/s|[kmgt]?hz|km|cm|mm|nm|ms|[uμµ]s|mw|ma"
    r"|kv|kw|°c|%|€|eur|euro|[kmgt]b)"
)
# Spans that start at the first digit of a digit group. Each alternative says what it is; they
# are tried with ``match`` at group starts only, so their cost follows the candidates, not the
# length of the text (a base64 attachment or a long note costs a few anchored tries).
_AT_GROUP: Final = re.compile(
    "|".join(
        (
            # ISO 8601 dates and date-times, with an optional offset (the "+01:00" is no prefix);
            # Italian dates 12/03/2026, 12.03.26, 12-3-2026 (one separator throughout).
            r"(?P<date>(?<![0-9])(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]"
            r"(?:[T ][0-2][0-9]:[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]+)?)?"
            r"(?:Z|[+-][0-2][0-9]:?[0-5][0-9])?)?(?![0-9])"
            rf"|(?<![0-9./-]){_DAY}(?P<ds>[./-]){_MONTH}(?P=ds)(?:(?:19|20)[0-9]{{2}}|[0-9]{{2}})"
            r"(?![0-9]|[./-][0-9])"
            rf"|(?<![0-9./-])(?:19|20)[0-9]{{2}}(?P<ys>[./]){_MONTH}(?P=ys){_DAY}(?![0-9]|[./-][0-9]))",
            # Times and time windows: 14:30, 14.30, 08:00-13:00.
            rf"(?<![0-9.:,]){_HOUR}[:.][0-5][0-9](?::[0-5][0-9])?"
            rf"(?:\s?-\s?{_HOUR}[:.][0-5][0-9])?(?![0-9]|[.:,][0-9])",
            # IPv4 (octets have no leading zero and never exceed 255, unlike 06.… and 347.…).
            rf"(?<![0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?:/[0-9]{{1,2}})?(?::[0-9]{{1,5}})?"
            r"(?![0-9]|\.[0-9])",
            r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])",
            # Measurements and speeds: -27,5 dBm, 1000/300 Mbps, 12 %, 49,90 €. Not the last
            # group of a longer chain ("06 12345678 €" is a number before a price: see
            # ``protected``), and no leading zero ("0471/123456 Mbps" is a landline before a
            # word, not a speed).
            r"(?P<measure>(?<![0-9.,])(?<![0-9][ ./-])(?!0[0-9])(?:"
            rf"[0-9]{{1,5}}\s?/\s?[0-9]{{1,5}}\s?{_RATES}"  # speeds: 1000/300 Mbps, 10000/10000
            rf"|[0-9]{{1,6}}(?:[.,][0-9]{{1,3}})?\s?{_UNITS})(?![A-Za-z]))",
            # Amounts with thousands separators: € 1.234,56, EUR 12 345, 1.234.567,00 euro.
            r"(?:(?<=€)|(?<=€ )|(?<=(?i:eur) ))[0-9]{1,3}(?:[.' ][0-9]{3})*(?:,[0-9]{1,2})?"
            r"(?![0-9])",
            r"(?P<priced>(?<![0-9.,])(?<![0-9][ ./-])[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]{1,2})?"
            r"\s?(?i:€|eur|euro))",
        )
    )
)
# What may sit right before a chain and make it no phone number: an IBAN's head, printed upper
# case in groups of four, or a label that names a code rather than a contact (then only a bare
# number, with no separators, is exempt). Both are matched on the reversed text before the
# chain, anchored: one cheap ``match`` instead of a search over every position.
_LABELS = (
    *("ordine", "pratica", "ticket", "tt", "risorsa", "cig", "cup", "matricola", "seriale"),
    *("s/n", "protocollo", "prot.", "rif", "rif.", "fattura", "contratto"),
)
#: Labels that also end compound field names (``idCivicoNetMap``, ``codiceIstat``).
_SUFFIX_LABELS = ("netmap", "istat", "iccid", "imei", "iban")
_IBAN_HEAD_REVERSED: Final = re.compile(r" ?(?:[A-Z0-9]{4} ?){0,7}[0-9]{2}[A-Z]{2}(?![A-Za-z0-9])")
_LABEL_HEAD_REVERSED: Final = re.compile(
    r"\s?[:=#]?\s?(?:\.n|\.?rn|°n|\.on|#)?\s?"
    rf"(?:(?:{'|'.join(re.escape(label[::-1]) for label in _LABELS)})(?![a-z])"
    rf"|{'|'.join(re.escape(label[::-1]) for label in _SUFFIX_LABELS)})",
    re.IGNORECASE,
)
#: What replaces protected characters where a masked copy of the text is needed.
FILLER: Final = "#"
#: How far back an IBAN's head or a label may start.
REACH: Final = 48


def protected(
    text: str,
    groups: Sequence[tuple[int, int]],
    number: Callable[[str], bool] | None = None,
) -> list[tuple[int, int]]:
    """Protected spans among the digit ``groups`` (``(start, end)``) of one chain of ``text``.

    ``number``: whether a chain's digits (from its first group) are a phone number; a date
    that starts inside the chain and completes such a number is no date (``(320) 01.1.2000``).
    """
    found: list[tuple[int, int]] = []
    covered = -1
    for index, (start, _) in enumerate(groups):
        if start < covered:
            continue
        match = _AT_GROUP.match(text, start)
        if match is None:
            continue
        if index and (match.group("measure") or match.group("priced")):
            # A measurement or a price never starts inside a chain: "347 - 765 - 4321 € 29,90"
            # and "(02) 10000.000 € 29,90" are numbers written before an amount, whatever
            # separates their groups.
            continue
        if index and number is not None and match.group("date"):
            end = match.end()
            digits = "".join(text[a:b] for a, b in groups if b <= end)
            if number(digits):
                continue  # the tail of a number that happens to read as a date
        found.append(match.span())
        covered = match.end()
    first, last = groups[0][0], groups[-1][1]
    head = text[max(0, first - REACH) : first][::-1]
    labelled = len(groups) == 1 and _LABEL_HEAD_REVERSED.match(head) is not None
    if labelled or _IBAN_HEAD_REVERSED.match(head):
        found.append((first, last))
    return found
