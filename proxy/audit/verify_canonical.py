"""RFC 8785 canonical-form check of leaf bytes: parse, re-encode, compare byte for byte.

A leaf is canonical when its bytes equal the JCS encoding of the value they parse to. The
reference encoder (``rfc8785``) is pure Python and costs ~90 µs a leaf, too slow for a million
leaves in a minute, so a fast path uses the C ``json`` encoder where the two provably agree:

- strings: both escape exactly ``"``, ``\\`` and U+0000..U+001F (``\\b \\t \\n \\f \\r`` short,
  the rest ``\\u00xx`` in lower case) and write everything else as UTF-8;
- key order: code-point order (``json``) equals UTF-16 order (JCS) unless a key holds a
  character outside the BMP, so such leaves (any 4-byte UTF-8 sequence) take the slow path;
- integers within ±(2**53 - 1) print alike; a larger one is canonical only when it is a double
  written in ES6 form (``9007199254740992`` is, ``9007199254740993`` is not);
- floats: each literal is checked on its own against the ES6 form that ``rfc8785`` writes
  (``1.0`` is ``1``) and replaced by a placeholder string for the re-encoding; the placeholder
  (a NUL, encoded ``\\u0000``) cannot clash, since the fast path only takes leaves free of ``\\u``;
- ``NaN`` and ``Infinity`` are not JSON: refused on either path;
- escaped characters (``\\u…``, which may hide a lone surrogate) take the slow path.

Duplicate keys need no special case: the parsed value keeps one, so re-encoding differs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_SAFE_INT = (1 << 53) - 1
_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_PLACEHOLDER = re.compile(r'"\\u0000([0-9]+)"')
# A 4-byte UTF-8 lead: a character outside the BMP, which the slow path decides.
_ASTRAL = re.compile(rb"[\xf0-\xff]")


class NotCanonical(Exception):
    """Leaf bytes are not the RFC 8785 encoding of a JSON value; the message says why."""


def _no_constant(name: str) -> Any:
    raise NotCanonical(f"expected JSON, got the non-standard constant {name}")


def _number(text: str) -> int | float:
    """JSON numbers are doubles (RFC 8785 §3.2.2.3): integers beyond 2**53 become floats, so
    that the reference encoder writes their ES6 form instead of refusing them."""
    value = int(text)
    return value if -_SAFE_INT <= value <= _SAFE_INT else float(value)


def es6_number(value: float) -> str:
    """The RFC 8785 (ECMAScript) form of a double, as the ``rfc8785`` package writes it."""
    text = repr(value)
    if "e" in text or "n" in text:  # exponent form, inf or nan: rare, use the reference
        try:
            return rfc8785.dumps(value).decode("ascii")
        except rfc8785.CanonicalizationError:
            raise NotCanonical("expected a finite number, got an overflowing one") from None
    if value == 0:
        return "0"  # -0.0 too
    return text.removesuffix(".0")


class CanonicalParser:
    """Parses leaf bytes, refusing any that are not RFC 8785; reusable, not thread-safe.

    The decoders are built once: building one per leaf would cost more than the parse.
    """

    __slots__ = ("_fast", "_literals", "_slow")

    def __init__(self) -> None:
        self._literals: list[str] = []
        self._fast = json.JSONDecoder(
            parse_float=self._float, parse_int=self._int, parse_constant=_no_constant
        )
        self._slow = json.JSONDecoder(parse_int=_number, parse_constant=_no_constant)

    def _float(self, text: str) -> str:
        """Check a float literal and swap it for an indexed placeholder."""
        if es6_number(float(text)) != text:
            raise NotCanonical("expected numbers in RFC 8785 form, got another form")
        self._literals.append(text)
        return f"\x00{len(self._literals) - 1}"

    def _int(self, text: str) -> int | str:
        """Integers print alike in both encoders up to 2**53; beyond, they are doubles (as
        floats are: checked, then a placeholder, so that the caller gets the double)."""
        value = int(text)
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        return self._float(text)

    def _restore(self, encoded: str) -> str:
        """Put the float literals back in place of their placeholders."""
        literals = self._literals
        return _PLACEHOLDER.sub(lambda m: literals[int(m[1])], encoded)

    def parse(self, data: bytes) -> Any:
        """Return the value ``data`` encodes; raise NotCanonical unless it is RFC 8785."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NotCanonical("expected UTF-8, got invalid bytes") from None
        # Most leaves are ASCII without escapes: two C-speed scans send them the fast way.
        if b"\\u" not in data and (data.isascii() or _ASTRAL.search(data) is None):
            self._literals = []
            value = _decode(self._fast, text)
            encoded = _encoder.encode(value)
            if self._literals:
                encoded = self._restore(encoded)
            if encoded.encode("utf-8") != data:
                raise NotCanonical("expected the RFC 8785 encoding, got other bytes")
            # The value holds placeholders where floats were: parse again for the caller.
            return _decode(self._slow, text) if self._literals else value
        value = _decode(self._slow, text)
        try:
            encoded_ref = rfc8785.dumps(value)
        except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
            raise NotCanonical(
                f"expected a value RFC 8785 encodes, got {type(exc).__name__}"
            ) from None
        if encoded_ref != data:
            raise NotCanonical("expected the RFC 8785 encoding, got other bytes")
        return value


def _decode(decoder: json.JSONDecoder, text: str) -> Any:
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"expected JSON, got a syntax error at byte {exc.pos}") from None
    except RecursionError:
        raise NotCanonical("expected JSON of reasonable depth, got deeper nesting") from None
    except ValueError:  # an integer of more than 4300 digits
        raise NotCanonical("expected numbers JSON can hold, got a huge integer") from None


def parse_canonical(data: bytes) -> Any:
    """Parse one leaf with a fresh :class:`CanonicalParser` (loops should keep one)."""
    return CanonicalParser().parse(data)
