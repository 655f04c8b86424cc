"""Phone numbers in free text: Italian first, international when written with ``+``/``00``.

The detector works on canonical text (:mod:`proxy.detect.normalise`) in three steps:

1. Find *chains* (:mod:`proxy.detect.chains`): digits joined by up to three separators,
   optionally led by ``+``. This catches ``347.123.45.67``, ``+39 (0)6 1234 5678`` and
   ``3 4 7 1 2 3 4 5 6 7``, which ``PhoneNumberMatcher`` misses or splits. A chain inside an
   alphanumeric code (``TIM0612345678001A``, a codice migrazione) or hanging off an identifier
   (``ord-2026-000123``) is no phone number; one glued to a phone label (``tel347…``) or run
   into the next word (``…5678Recapito``) still is.
2. Take out what only looks numeric (:func:`proxy.detect.spans.protected`: dates, times, IP
   addresses, measurements, amounts, IBANs, numbers after a code label).
3. Split each chain into the longest runs of whole digit groups that ``phonenumbers`` declares
   *valid* (metadata check, region IT; ``+``/``00``/``39`` lead to other countries), so two
   numbers written side by side come out as two.

Trade-offs: validity (not mere possibility) keeps dates, ISTAT codes and ids out, at the price
of missing numbers from unallocated ranges; fewer than 7 digits never count (6-digit Italian
landlines are all but extinct, 6-digit codes are everywhere); a foreign number written in its
national format without ``+``/``00`` is found only when it also reads as a valid Italian one.
``PhoneNumberMatcher`` (leniency VALID) runs as a second opinion only when ``thorough`` is set:
it costs about 0.3 ms per 150 characters, too much for the egress guard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Final

import phonenumbers
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberMatcher, PhoneNumberType

from proxy.detect.chains import (
    Chain,
    chains,
    digit_count,
    hangs_off_identifier,
    identifier_dropped,
    masked,
    split,
)
from proxy.detect.phonetypes import dialled
from proxy.detect.spans import FILLER, Match, protected

MIN_DIGITS: Final = 7
MAX_DIGITS: Final = 17
_CLOSING: Final = {"(": ")", "[": "]"}
_STRONG: Final = re.compile(r"\s*[-/.~]\s+|\s+[-/.~]\s*|\s{2,}")
_NOT_DIALLED: Final = frozenset({PhoneNumberType.UNKNOWN, PhoneNumberType.VOICEMAIL})

# phonenumbers compiles its metadata's patterns through the re module's cache (512 entries,
# shared by the whole process): once anything else churns it, validating a new number costs
# milliseconds of recompiling. Where the library offers it, keep them compiled for good (a
# bounded set: the patterns come from the fixed metadata, never from message text).
_enable_pattern_cache = getattr(phonenumbers, "enable_pattern_cache", None)
if _enable_pattern_cache is not None:
    _enable_pattern_cache()


@cache
def _general(country: int) -> re.Pattern[str] | None:
    # The metadata's general pattern of every region under ``country``, in one: a national
    # number that none of them matches is of no type (phonenumbers checks the same pattern
    # first), so it is refused here without building a PhoneNumber. Bounded: one per code.
    patterns = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country, ()):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country, region)
        general = metadata.general_desc if metadata is not None else None
        if general is None or not general.national_number_pattern:
            return None  # a region without a general pattern: let the library decide
        patterns.append(f"(?:{general.national_number_pattern})")
    return re.compile("|".join(patterns)) if patterns else None


def _e164(country: int, national: str) -> str | None:
    general = _general(country)
    if general is not None and general.fullmatch(national) is None:
        return None
    # Valid by the metadata, and not a voicemail-box number (Italy's 12-digit 3xx voicemail
    # range would otherwise swallow a mobile and the next group written after it).
    if not dialled(country, national):
        return None
    return f"+{country}{national}"


# Cached because the same numbers recur from message to message (partner contacts, profiles,
# ids that fail validation). The cache holds digit strings in process memory only, like the
# messages in flight; it is bounded and never persisted or logged.
@lru_cache(maxsize=4096)
def validate(digits: str, international: bool) -> str | None:
    """The E.164 form of ``digits`` if they are a valid number, else None.

    ``international`` means the digits start with a country code (the text had ``+``).
    """
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True
    if international:
        for size in (1, 2, 3):
            country = int(digits[:size]) if len(digits) > size else 0
            if country in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return _e164(country, digits[size:])
        return None
    found = _e164(39, digits)
    if found is None and digits.startswith("39") and len(digits) > 9:
        found = _e164(39, digits[2:])  # +39 written without the plus, as OSS exports do
    return found


def national_of(e164: str) -> str:
    """The national significant number of an E.164 string such as ``+393471234567``."""
    for size in (1, 2, 3):
        if int(e164[1 : 1 + size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return e164[1 + size :]
    return e164[1:]


def _candidates(chain: Chain, text: str) -> list[tuple[int, int, str]]:
    # Left to right, take the longest valid run of whole groups, preferring one that does not
    # cross a strong separator (" - ", " / ", ". "): two numbers written side by side.
    groups = chain.groups
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        hit = _longest_valid(chain, text, i)
        if hit is None:
            i += 1
            continue
        j, key = hit
        start = chain.start if i == 0 else groups[i][0]
        found.append((start, groups[j][1], key))
        i = j + 1
    return found


def _longest_valid(chain: Chain, text: str, i: int) -> tuple[int, str] | None:
    # Valid runs starting at group i, best first: the longest that crosses no strong separator
    # and does not end on a lone digit after longer groups ("02 12345678 2 volte": the 2 is a
    # count, though 02 123456782 would be valid); then the longest that crosses none; then any.
    groups = chain.groups
    runs: list[tuple[int, str, bool, bool]] = []
    digits, crosses = "", False
    for j in range(i, len(groups)):
        if j > i and _STRONG.fullmatch(text, groups[j - 1][1], groups[j][0]):
            crosses = True
        size = groups[j][1] - groups[j][0]
        lone = j > i and size == 1 and groups[j - 1][1] - groups[j - 1][0] > 1
        digits += text[groups[j][0] : groups[j][1]]
        if len(digits) > MAX_DIGITS:
            break
        runs.append((j, digits, crosses, lone))
    international = chain.international and i == 0
    ranked: list[tuple[int, int, str]] = []
    for j, run, crossed, lone in reversed(runs):
        if len(run) < MIN_DIGITS:
            break
        key = validate(run, international)
        if key is None and international and j > 0 and text[slice(*groups[1])] == "0":
            # "+44 (0)20 …": the bracketed trunk zero is not dialled from abroad.
            key = validate(_without_trunk(run, text, groups), True)
        if key is not None:
            ranked.append((int(crossed) * 2 + int(lone), j, key))
            if not crossed and not lone:
                break
    if not ranked:
        return None
    _, j, key = min(ranked, key=lambda entry: entry[0])
    return j, key


def _number_from(chain: Chain) -> Callable[[str], bool]:
    # Whether digits read from the chain's first group on are a valid number.
    international = chain.international
    return lambda digits: validate(digits, international) is not None


def _may_hold_number(chain: Chain, text: str) -> bool:
    """Whether any run of ``chain``'s whole groups validates.

    A superset of what :func:`_longest_valid` tries on the parts the boundary rules leave of
    the chain (each part is a run of its groups; only a part that starts the chain reads as
    international), so a chain that fails here yields no number, and most chains of a message
    (dates, ids, codes) skip those rules altogether.
    """
    groups = chain.groups
    pieces = [text[start:end] for start, end in groups]
    for i in range(len(pieces)):
        digits = ""
        for j in range(i, len(pieces)):
            digits += pieces[j]
            if len(digits) > MAX_DIGITS:
                break
            if len(digits) < MIN_DIGITS:
                continue
            if validate(digits, False) is not None:
                return True
            if i == 0 and chain.international:
                if validate(digits, True) is not None:
                    return True
                trunk = j > 0 and pieces[1] == "0"
                if trunk and validate(_without_trunk(digits, text, groups), True) is not None:
                    return True
    return False


def _without_trunk(run: str, text: str, groups: tuple[tuple[int, int], ...]) -> str:
    country = text[groups[0][0] : groups[0][1]]
    return country + run[len(country) + 1 :]


def find(
    text: str, *, thorough: bool = False, within: Sequence[Chain] | None = None
) -> list[Match]:
    """Phone numbers in canonical ``text`` as matches in ``text``'s offsets (key: E.164).

    ``within``: the chains of ``text`` if the caller has them already (any minimum length).
    """
    if digit_count(text) < MIN_DIGITS:
        return []
    matches = []
    hidden_all: list[tuple[int, int]] = []
    least = 1 if thorough else MIN_DIGITS
    candidates = chains(text, least) if within is None else within
    for chain in candidates:
        if not thorough and (chain.digits < MIN_DIGITS or not _may_hold_number(chain, text)):
            continue  # dates, ids and codes: no run of their groups is a number at all
        if identifier_dropped(chain, text, []) is None:
            continue  # all of it is an identifier's tail ("FV-2025-0004711"): nothing to mask
        hidden = protected(text, chain.groups, _number_from(chain))
        hidden_all.extend(hidden)
        for whole in split(chain, hidden):
            part = identifier_dropped(whole, text, hidden)
            if part is None or part.digits < MIN_DIGITS:
                continue
            for start, end, key in _candidates(part, text):
                closing = _CLOSING.get(text[start - 1]) if start > 0 else None
                if closing is not None and closing in text[start:end]:
                    start -= 1  # keep "(347) 1234567" and "[347] 1234567" whole
                matches.append(Match(start, end, "phone", key))
    if thorough:
        matches.extend(_second_opinion(masked(text, hidden_all), matches))
    return matches


def _second_opinion(masked_text: str, known: list[Match]) -> list[Match]:
    extra = []
    for found in PhoneNumberMatcher(masked_text, "IT", leniency=Leniency.VALID):
        start, end = found.start, found.end
        raw = found.raw_string
        if (
            FILLER in raw
            or digit_count(raw) < MIN_DIGITS
            or hangs_off_identifier(masked_text, start, [])
        ):
            continue
        if any(m.start < end and start < m.end for m in known):
            continue  # the chain pass has it already (without an extension: "int. 204" stays)
        if phonenumbers.number_type(found.number) in _NOT_DIALLED:
            continue  # the same rule as the chain pass: no voicemail-box numbers
        key = phonenumbers.format_number(found.number, phonenumbers.PhoneNumberFormat.E164)
        extra.append(Match(start, end, "phone", key))
    return extra
