"""``tokenise``: replace a value by a token the vault can turn back into it.

Tokens derive from HMAC(token key, order_ref || 0x00 || value): the same value within one order
always gets the same token (so a later PATCH or ``test`` op agrees with the first POST), and the
same value in two orders gets unrelated tokens (so the incumbent cannot link customers). The
path is deliberately not an input: the same value in two fields of an order is one token.

Formats: ``opaque`` (``tok_`` + 24 base32 characters), ``digits`` (same length and separators,
every digit replaced, ``keep_leading`` digits kept so that a pattern such as ``0[0-9]{5,10}``
still holds) and ``codice_fiscale`` (a syntactically valid codice fiscale with a correct check
character, so the incumbent's XSD pattern and check-digit validation pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from stdnum.it import codicefiscale

from proxy.actions.base import (
    Change,
    Env,
    IssuedToken,
    ParamError,
    Phase,
    Reach,
    Syntax,
    mac,
    require_order,
)

FORMATS = ("opaque", "digits", "codice_fiscale")
OPAQUE_PREFIX = "tok_"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MONTHS = "ABCDEHLMPRST"
_DIGITS = "0123456789"


def _stream(seed: bytes, key: bytes) -> Iterator[int]:
    """An endless keyed byte stream (HMAC in counter mode) seeded by one token's MAC."""
    counter = 0
    while True:
        yield from mac(key, seed, counter.to_bytes(4, "big"))
        counter += 1


def _picks(stream: Iterator[int], alphabet: str, count: int) -> str:
    """``count`` uniformly chosen characters: rejection sampling avoids the modulo bias."""
    size = len(alphabet)
    limit = 256 - 256 % size
    out: list[str] = []
    if count <= 0:
        return ""
    for byte in stream:  # one loop for all of them: no call per character
        if byte < limit:
            out.append(alphabet[byte % size])
            if len(out) == count:
                break
    return "".join(out)


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648's alphabet, lower case
#: Every pair of base32 digits, by the 10 bits they stand for; and where each pair starts.
_BASE32_PAIRS = [a + b for a in _BASE32 for b in _BASE32]
_SHIFTS = range(110, -1, -10)


def opaque(seed: bytes, key: bytes, original: str, keep_leading: int) -> str:
    """``tok_`` + 120 bits in lower-case base32: recognisable, URL- and XML-safe.

    ``base64.b32encode(seed[:15]).lower()``, ten bits at a time: 120 bits need no padding, and
    the standard library's encoder is Python that handles any length (several times slower).
    """
    bits = int.from_bytes(seed[:15], "big")
    return OPAQUE_PREFIX + "".join([_BASE32_PAIRS[(bits >> shift) & 1023] for shift in _SHIFTS])


def digits(seed: bytes, key: bytes, original: str, keep_leading: int) -> str:
    """Every digit after the first ``keep_leading`` replaced; anything else kept in place."""
    places = [i for i, char in enumerate(original) if char.isascii() and char.isdigit()]
    places = places[keep_leading:]
    out = list(original)
    for i, char in zip(places, _picks(_stream(seed, key), _DIGITS, len(places)), strict=True):
        out[i] = char
    return "".join(out)


def codice_fiscale(seed: bytes, key: bytes, original: str, keep_leading: int) -> str:
    """A valid 16-character codice fiscale: letters, birth date, place code, check letter."""
    stream = _stream(seed, key)
    letters = _picks(stream, _LETTERS, 6)
    year = _picks(stream, _DIGITS, 2)
    month = _picks(stream, _MONTHS, 1)
    # Days 1..28 exist in every month; +40 marks a woman, as in a real codice fiscale.
    day = 1 + (next(stream) % 28) + (40 if next(stream) & 1 else 0)
    place = _picks(stream, "ABCDEFGHILM", 1) + _picks(stream, _DIGITS, 3)
    body = f"{letters}{year}{month}{day:02d}{place}"
    return body + str(codicefiscale.calc_check_digit(body))


_MAKERS: dict[str, Callable[[bytes, bytes, str, int], str]] = {
    "opaque": opaque,
    "digits": digits,
    "codice_fiscale": codice_fiscale,
}


def token_id(key: bytes, order_ref: str, original: str) -> str:
    """The vault id of the token of ``original`` in ``order_ref`` (what the audit records)."""
    return mac(key, b"civetta/token-id", order_ref.encode(), original.encode())[:12].hex()


#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("format", "keep_leading")


@dataclass(frozen=True, slots=True)
class Tokenise:
    """Mint a deterministic per-order token in ``format``."""

    format: str
    keep_leading: int = 0

    name: ClassVar[str] = "tokenise"
    reach: ClassVar[Reach] = Reach.SCALAR
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The token; the original is removed and handed to the caller for the vault."""
        order = require_order(env, self.name)
        key = env.context.keys.token
        seed = mac(key, order.encode(), value.encode())
        token = _MAKERS[self.format](seed, key, value, self.keep_leading)
        issued = IssuedToken(token_id(key, order, value), token, value, self.format)
        # (value, removed, record, allowed, token, token_id), positional: see keep.
        return Change(token, True, False, token, issued, issued.id)


def build(params: Mapping[str, Any], syntax: Syntax) -> Tokenise:
    """``format`` (default ``opaque``) and, for ``digits``, ``keep_leading`` (default 0)."""
    fmt = params.get("format", "opaque")
    keep = params.get("keep_leading", 0)
    errors: list[tuple[str, str]] = []
    if fmt not in FORMATS:
        errors.append(("format", f"expected one of {', '.join(FORMATS)}, got {fmt!r}"))
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
        errors.append(("keep_leading", f"expected a non-negative integer, got {keep!r}"))
    elif keep and fmt != "digits":
        errors.append(
            ("keep_leading", f"expected keep_leading only with format digits, got {fmt!r}")
        )
    if errors:
        raise ParamError(errors)
    return Tokenise(fmt, keep)
