"""Whether a national number is dialled: phonenumbers' ``number_type``, from one pattern a region.

``phonenumbers.number_type`` answers from the library's metadata, but rebuilds its view of it
on every call (a ``PhoneNumber``, the region's metadata looked up, each type's description
checked through several helper calls): some twenty microseconds per number. The egress guard
and the scrubber validate each new number of every message, so that cost is paid per number
per message. :func:`dialled` gives the same answer from the same metadata, compiled once per
region into a single pattern that follows the library's own order:

1. the region: the only one of the calling code, else the first whose leading digits match
   (or, for a region without them, whose types accept the number);
2. the general description, then premium rate, toll free, shared cost, VoIP, personal number,
   pager, UAN and voicemail, then fixed line and mobile; each description is a set of possible
   lengths (empty: any) and a pattern the whole number must match.

A number is *dialled* when its type is neither unknown nor voicemail (Italy's 12-digit 3xx
voicemail range would otherwise swallow a mobile and the group written after it). The tests
compare :func:`dialled` with the library's types on numbers drawn from every region's examples.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonemetadata import REGION_CODE_FOR_NON_GEO_ENTITY

#: The descriptions a type is read from, in the order the library checks them (fixed line and
#: mobile last: when their patterns are the same, mobile fails wherever fixed line did).
_ORDER: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class _Region(NamedTuple):
    #: The region's leading digits (None: the region is told by typing the number).
    leading: re.Pattern[str] | None
    #: The general description as a look-ahead, then every type's as an alternative, in
    #: ``_ORDER``: a full match takes the first alternative that fits the whole number, which
    #: is the type the library's sequence of checks returns. None: no type at all.
    typing: re.Pattern[str] | None


def _alternative(desc: object, name: str) -> str | None:
    # One description: its possible lengths as a look-ahead, then its whole-number pattern.
    pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
    if not pattern:
        return None  # the library: no pattern, no match
    lengths = sorted(set(getattr(desc, "possible_length", ()) or ()))
    ahead = f"(?=(?:{'|'.join(f'[0-9]{{{n}}}' for n in lengths)})\\Z)" if lengths else ""
    return f"(?P<{name}>{ahead}(?:{pattern}))"


def _typing(metadata: PhoneMetadata) -> re.Pattern[str] | None:
    head = _alternative(metadata.general_desc, "general")
    parts = [_alternative(getattr(metadata, name, None), name) for name in _ORDER]
    alternatives = "|".join(p for p in parts if p is not None)
    if head is None or not alternatives:
        return None
    if parts[_ORDER.index("voicemail")] is None:
        alternatives += "|(?P<voicemail>(?!))"  # never matches: the group always exists
    return re.compile(f"(?={head}\\Z)(?:{alternatives})")


@cache
def _region(country: int, region: str) -> _Region | None:
    # Bounded: one entry per region of the library's fixed metadata.
    if region == REGION_CODE_FOR_NON_GEO_ENTITY:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country, None)
    else:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None:
        return None
    leading = metadata.leading_digits
    return _Region(re.compile(leading) if leading is not None else None, _typing(metadata))


def significant(national: str) -> str:
    """The national significant number phonenumbers reads from ``national`` (digits).

    The library keeps the leading zeros apart from the integer: ``"0612345"`` stays itself, an
    all-zero ``"000"`` becomes ``"0000"`` (three zeros, then the integer 0).
    """
    zeros = len(national) - len(national.lstrip("0"))
    return "0" * zeros + str(int(national))


def _typed(number: str, region: _Region) -> re.Match[str] | None:
    return region.typing.fullmatch(number) if region.typing is not None else None


def dialled(country: int, national: str) -> bool:
    """Whether ``+{country} {national}`` is a valid number of a type one dials (not voicemail)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country)
    if not regions:
        return False
    number = significant(national)
    typed: re.Match[str] | None = None
    if len(regions) == 1:
        only = _region(country, regions[0])
        typed = _typed(number, only) if only is not None else None
    else:
        for code in regions:
            region = _region(country, code)
            if region is None:
                continue
            if region.leading is not None:
                if region.leading.match(number):
                    typed = _typed(number, region)
                    break
            else:
                # The library tells the region by typing the number, then types it again
                # there: the same answer, computed once.
                typed = _typed(number, region)
                if typed is not None:
                    break
    return typed is not None and typed.group("voicemail") is None
