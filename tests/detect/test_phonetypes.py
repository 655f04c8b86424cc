"""Tests for proxy.detect.phonetypes: the same answers as phonenumbers.number_type, faster."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberType

from proxy.detect.phonetypes import dialled, significant


def _library(country: int, national: str) -> int:
    # The PhoneNumber the detector used to build for the library (leading zeros kept apart).
    zeros = len(national) - len(national.lstrip("0"))
    number = PhoneNumber(
        country_code=country,
        national_number=int(national),
        italian_leading_zero=True if zeros else None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    return int(phonenumbers.number_type(number))


def _examples() -> list[tuple[int, str]]:
    # Every region's example numbers of every type, and numbers one digit off, one digit
    # longer and one shorter: valid, invalid and other-type numbers of every calling code.
    rnd = random.Random(20261207)
    out: set[tuple[int, str]] = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.MOBILE,
            PhoneNumberType.TOLL_FREE,
            PhoneNumberType.PREMIUM_RATE,
            PhoneNumberType.VOIP,
            PhoneNumberType.VOICEMAIL,
            PhoneNumberType.PAGER,
            PhoneNumberType.UAN,
            PhoneNumberType.SHARED_COST,
            PhoneNumberType.PERSONAL_NUMBER,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.national_significant_number(example)
            country = example.country_code
            assert country is not None
            out.add((country, national))
            for _ in range(3):
                i = rnd.randrange(len(national))
                out.add((country, national[:i] + str(rnd.randrange(10)) + national[i + 1 :]))
            out.add((country, national + str(rnd.randrange(10))))
            if len(national) > 1:
                out.add((country, national[:-1]))
    for country in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for _ in range(4):
            out.add((country, "".join(str(rnd.randrange(10)) for _ in range(rnd.randint(4, 13)))))
    return sorted(out)


EXAMPLES = _examples()


def test_dialled_is_the_librarys_answer_on_every_regions_examples() -> None:
    """The one-pattern-per-region answer agrees with the library's type, number for number."""
    assert len(EXAMPLES) > 5000
    not_dialled = (PhoneNumberType.UNKNOWN, PhoneNumberType.VOICEMAIL)
    different = [(c, n) for c, n in EXAMPLES if dialled(c, n) is (_library(c, n) in not_dialled)]
    assert different == []
    # Both answers occur, and voicemail boxes are among the numbers checked.
    assert {dialled(c, n) for c, n in EXAMPLES} == {True, False}
    assert any(_library(c, n) == PhoneNumberType.VOICEMAIL for c, n in EXAMPLES)


@pytest.mark.parametrize(
    ("country", "national", "expected"),
    [
        (39, "3471234567", True),  # Italian mobile
        (39, "0645678901", True),  # Rome landline
        (39, "347123456789", False),  # 12-digit 3xx: the voicemail range
        (39, "1234567", False),
        (44, "2079460000", True),  # London
        (1, "2015550123", True),  # NANPA: the region chosen among many by the number
        (39, "0669812345", True),  # Vatican City's range, under +39 with Italy
        (999, "123456", False),  # no such calling code
    ],
)
def test_dialled_numbers(country: int, national: str, expected: bool) -> None:
    """Valid numbers one dials are dialled; invalid ones and voicemail boxes are not."""
    assert dialled(country, national) is expected
    assert dialled(country, national) is (
        _library(country, national) not in (PhoneNumberType.UNKNOWN, PhoneNumberType.VOICEMAIL)
    )


def test_leading_zeros_are_read_as_the_library_reads_them() -> None:
    """Zeros in front are kept apart from the integer, as PhoneNumber keeps them."""
    assert significant("0612345") == "0612345"
    assert significant("000") == "0000"
    assert significant("12") == "12"
