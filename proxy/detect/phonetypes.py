"""Whether a national number is dialled: phonenumbers' ``number_type``, from tables built once.

``phonenumbers.number_type`` answers from the library's metadata, but rebuilds its view of it
on every call (a ``PhoneNumber``, the region's metadata looked up, each type's description
checked through several helper calls): some twenty microseconds per number. The egress guard
and the scrubber validate each new number of every message, so that cost is paid per number
per message. :func:`dialled` gives the same answer from the same metadata, read once per region
into plain tuples of compiled patterns and length sets, in the library's own order:

1. the region: the only one of the calling code, else the first whose leading digits match
   (or, for a region without them, whose types accept the number);
2. the general description, then premium rate, toll free, shared cost, VoIP, personal number,
   pager, UAN and voicemail, then fixed line and mobile; each description is a set of possible
   lengths (empty: any) and a pattern the whole number must match.

A number is *dialled* when its type is neither unknown nor voicemail (Italy's 12-digit 3xx
voicemail range would otherwise swallow a mobile and the group written after it). The tests
compare :func:`number_type` with the library's on numbers drawn from every region's examples.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonemetadata import REGION_CODE_FOR_NON_GEO_ENTITY

#: The types checked before fixed line and mobile, in the library's order.
_ORDER: Final = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
#: The alternative of the voicemail description in a region's pattern (:func:`_typing`).
_VOICEMAIL: Final = f"t{int(PhoneNumberType.VOICEMAIL)}"

#: One number description: possible lengths (empty: any) and the whole-number pattern (None:
#: the description matches nothing).
Desc = tuple[frozenset[int], re.Pattern[str] | None]


class _Region(NamedTuple):
    leading: re.Pattern[str] | None
    general: Desc | None
    ordered: tuple[tuple[Desc, int], ...]
    fixed: Desc | None
    mobile: Desc | None
    same_fixed_and_mobile: bool
    #: All of the above in one pattern (see :func:`_typing`): the type in one C-level match.
    typing: re.Pattern[str] | None


def _alternative(desc: Desc | None, name: str) -> str | None:
    # One description as an alternative: its lengths as a look-ahead, then its pattern.
    if desc is None:
        return None
    lengths, pattern = desc
    if pattern is None:
        return None
    ahead = f"(?=(?:{'|'.join(f'[0-9]{{{n}}}' for n in sorted(lengths))})\\Z)" if lengths else ""
    return f"(?P<{name}>{ahead}(?:{pattern.pattern}))"


def _typing(
    general: Desc | None,
    ordered: tuple[tuple[Desc, int], ...],
    fixed: Desc | None,
    mobile: Desc | None,
) -> re.Pattern[str] | None:
    # The general description as a look-ahead, then every type's description in the library's
    # order as alternatives: a full match takes the first alternative that matches the whole
    # number, which is the type the library's sequence of checks returns. Fixed line and
    # mobile come last; when their patterns are the same, mobile fails where fixed line did.
    head = _alternative(general, "general")
    if head is None:
        return None
    parts = [_alternative(desc, f"t{int(kind)}") for desc, kind in ordered]
    parts += [_alternative(fixed, "fixed"), _alternative(mobile, "mobile")]
    alternatives = "|".join(p for p in parts if p is not None)
    if not alternatives:
        return None
    if f"(?P<{_VOICEMAIL}>" not in alternatives:
        alternatives += f"|(?P<{_VOICEMAIL}>(?!))"  # never matches: the group always exists
    return re.compile(f"(?={head}\\Z)(?:{alternatives})")


def _desc(desc: object) -> Desc | None:
    if desc is None:
        return None
    pattern = getattr(desc, "national_number_pattern", None)
    lengths = frozenset(getattr(desc, "possible_length", ()) or ())
    return lengths, re.compile(pattern) if pattern else None


def _region(metadata: PhoneMetadata) -> _Region:
    leading = metadata.leading_digits
    ordered = tuple(
        (desc, kind)
        for name, kind in _ORDER
        if (desc := _desc(getattr(metadata, name, None))) is not None
    )
    general, fixed, mobile = (
        _desc(metadata.general_desc),
        _desc(metadata.fixed_line),
        _desc(metadata.mobile),
    )
    return _Region(
        re.compile(leading) if leading is not None else None,
        general,
        ordered,
        fixed,
        mobile,
        bool(metadata.same_mobile_and_fixed_line_pattern),
        _typing(general, ordered, fixed, mobile),
    )


@cache
def _metadata(country: int, region: str) -> _Region | None:
    # Bounded: one entry per region of the library's fixed metadata.
    if region == REGION_CODE_FOR_NON_GEO_ENTITY:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country, None)
    else:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    return _region(metadata) if metadata is not None else None


def _matches(number: str, desc: Desc | None) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(number) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(number) is not None


def _type(number: str, region: _Region) -> int:
    if not _matches(number, region.general):
        return PhoneNumberType.UNKNOWN
    for desc, kind in region.ordered:
        if _matches(number, desc):
            return kind
    if _matches(number, region.fixed):
        if region.same_fixed_and_mobile or _matches(number, region.mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not region.same_fixed_and_mobile and _matches(number, region.mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def significant(national: str) -> str:
    """The national significant number phonenumbers reads from ``national`` (digits).

    The library keeps the leading zeros apart from the integer: ``"0612345"`` stays itself, an
    all-zero ``"000"`` becomes ``"0000"`` (three zeros, then the integer 0).
    """
    zeros = len(national) - len(national.lstrip("0"))
    return "0" * zeros + str(int(national))


def number_type(country: int, national: str) -> int:
    """``phonenumbers.number_type`` of ``+{country} {national}`` (``national``: digits)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country)
    if not regions:
        return PhoneNumberType.UNKNOWN
    number = significant(national)
    if len(regions) == 1:
        only = _metadata(country, regions[0])
        return _type(number, only) if only is not None else PhoneNumberType.UNKNOWN
    for region_code in regions:
        region = _metadata(country, region_code)
        if region is None:
            continue
        if region.leading is not None:
            if region.leading.match(number):
                return _type(number, region)
        else:
            # The library tells the region by typing the number, then types it again there:
            # the same answer, computed once.
            kind = _type(number, region)
            if kind != PhoneNumberType.UNKNOWN:
                return kind
    return PhoneNumberType.UNKNOWN


def dialled(country: int, national: str) -> bool:
    """Whether ``+{country} {national}`` is a valid number of a type one dials (not voicemail).

    :func:`number_type`'s answer, from each region's single pattern (:func:`_typing`).
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country)
    if not regions:
        return False
    number = significant(national)
    for region_code in regions:
        region = _metadata(country, region_code)
        if region is None:
            if len(regions) == 1:
                return False
            continue
        typed = region.typing.fullmatch(number) if region.typing is not None else None
        if len(regions) > 1 and region.leading is None and typed is None:
            continue  # not this region's number: the library tries the next one
        if len(regions) > 1 and region.leading is not None and not region.leading.match(number):
            continue
        return typed is not None and typed.group(_VOICEMAIL) is None
    return False
