"""The ``decoys:`` section of the configuration: pools, quarantine, expected callers, alerts.

The JSON Schema (``proxy/schemas/config.schema.json``) checks shapes; :func:`parse_decoys`
checks what a schema cannot: that ranges are real E.164 numbers of one length, in order, of a
sane size and disjoint, that the alias domain and expected callers are well formed. Every
problem is collected as ``file:line: message``, like the rest of the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import phonenumbers

from proxy.decoys.callers import ExpectedCaller, is_domain, parse_expected

#: A larger range is almost certainly a typo (one digit too many), and the pool enumerates a
#: range's free numbers when it runs low.
MAX_RANGE: Final = 1_000_000
KINDS: Final = ("phone", "email")

Where = Callable[[tuple[str | int, ...]], str]


@dataclass(frozen=True, slots=True)
class PhoneRange:
    """Consecutive E.164 numbers of one length, from ``low`` to ``high`` (digits), inclusive."""

    low: int
    high: int

    @property
    def first(self) -> str:
        """The first number, E.164."""
        return f"+{self.low}"

    @property
    def last(self) -> str:
        """The last number, E.164."""
        return f"+{self.high}"

    @property
    def size(self) -> int:
        """How many numbers the range holds."""
        return self.high - self.low + 1

    def number(self, offset: int) -> str:
        """The ``offset``-th number (0-based), E.164."""
        if not 0 <= offset < self.size:
            raise IndexError(f"expected an offset below {self.size}, got {offset}")
        return f"+{self.low + offset}"

    def __contains__(self, e164: object) -> bool:
        """Whether an E.164 string is one of the range's numbers."""
        if not isinstance(e164, str) or not e164.startswith("+") or not e164[1:].isdigit():
            return False
        digits = e164[1:]
        return len(digits) == len(str(self.low)) and self.low <= int(digits) <= self.high


@dataclass(frozen=True, slots=True)
class DecoySettings:
    """Validated decoy settings (see docs/decoys.md)."""

    phone_ranges: tuple[PhoneRange, ...] = ()
    #: Decoy addresses are ``o-<random>@email_domain``.
    email_domain: str | None = None
    #: A decoy returns to the pool only this long after its order closed.
    quarantine_days: int = 90
    #: How long after an order's latest message its expected callers are still expected.
    active_window_days: int = 60
    expected_callers: tuple[ExpectedCaller, ...] = ()
    alert_webhook: str | None = None
    alert_timeout_s: float = 5.0

    @property
    def kinds(self) -> frozenset[str]:
        """The decoy kinds with a pool: ``phone`` and/or ``email``."""
        return frozenset(
            kind
            for kind, present in (("phone", self.phone_ranges), ("email", self.email_domain))
            if present
        )

    @property
    def quarantine(self) -> timedelta:
        """The quarantine as a duration."""
        return timedelta(days=self.quarantine_days)

    @property
    def active_window(self) -> timedelta:
        """The active window as a duration."""
        return timedelta(days=self.active_window_days)


def _e164(text: object) -> str | None:
    """A valid number written in E.164 (``+`` and digits only), else None."""
    if not isinstance(text, str) or not text.startswith("+") or not text[1:].isdigit():
        return None
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    return text if phonenumbers.is_valid_number(parsed) else None


def _ranges(raw: list[Any], where: Where, errors: list[str]) -> tuple[PhoneRange, ...]:
    found: list[tuple[int, PhoneRange]] = []
    for i, item in enumerate(raw):
        at: tuple[str | int, ...] = ("decoys", "phone_ranges", i)
        first, last = _e164(item.get("from")), _e164(item.get("to"))
        bad = [key for key, value in (("from", first), ("to", last)) if value is None]
        for key in bad:
            errors.append(f"{where((*at, key))}: expected a valid E.164 number, got another value")
        if first is None or last is None:
            continue
        if len(first) != len(last):
            errors.append(f"{where(at)}: expected from and to of one length, got two lengths")
            continue
        rng = PhoneRange(int(first[1:]), int(last[1:]))
        if rng.size < 1:
            errors.append(f"{where(at)}: expected from <= to, got from after to")
        elif rng.size > MAX_RANGE:
            errors.append(
                f"{where(at)}: expected at most {MAX_RANGE} numbers in a range, got {rng.size}"
            )
        else:
            found.append((i, rng))
    for j, (i, rng) in enumerate(found):
        for k, other in found[:j]:
            if (
                rng.low <= other.high
                and other.low <= rng.high
                and len(rng.first) == len(other.first)
            ):
                errors.append(
                    f"{where(('decoys', 'phone_ranges', i))}: expected disjoint ranges, "
                    f"got one overlapping range {k}"
                )
    return tuple(rng for _, rng in found)


def parse_decoys(raw: Mapping[str, Any], where: Where) -> tuple[DecoySettings, list[str]]:
    """Settings from a schema-checked ``decoys:`` mapping, and every semantic error found."""
    errors: list[str] = []
    ranges = _ranges(list(raw.get("phone_ranges", ())), where, errors)
    domain = raw.get("email_domain")
    if domain is not None:
        domain = str(domain).lower()
        if not is_domain(domain):
            errors.append(
                f"{where(('decoys', 'email_domain'))}: expected a domain name, got another value"
            )
    if not ranges and domain is None and not errors:
        errors.append(f"{where(('decoys',))}: expected phone_ranges or email_domain, got neither")
    expected: list[ExpectedCaller] = []
    for i, text in enumerate(raw.get("expected_callers", ())):
        entry = parse_expected(str(text))
        if entry is None:
            errors.append(
                f"{where(('decoys', 'expected_callers', i))}: expected an E.164 number, a number "
                "prefix ending in '*' or an e-mail domain starting with '@', got another value"
            )
        else:
            expected.append(entry)
    defaults = DecoySettings()
    settings = DecoySettings(
        phone_ranges=ranges,
        email_domain=domain,
        quarantine_days=int(raw.get("quarantine_days", defaults.quarantine_days)),
        active_window_days=int(raw.get("active_window_days", defaults.active_window_days)),
        expected_callers=tuple(expected),
        alert_webhook=raw.get("alert_webhook"),
        alert_timeout_s=float(raw.get("alert_timeout_s", defaults.alert_timeout_s)),
    )
    return settings, errors
