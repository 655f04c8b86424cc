"""tokenise: deterministic per order, unlinkable across orders, format-preserving."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.it import codicefiscale

from proxy.actions import tokenise
from proxy.actions.base import ParamError, Syntax
from proxy.errors import PolicyError
from tests.actions.support import env

#: The CodiceFiscale pattern of schemas/soap/wholesale-ordering-v1.xsd.
CF_PATTERN = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-7LMNPQRST][0-9LMNPQRSTUV][A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
ORDERS = st.text(min_size=1, max_size=30)


def _token(value: str, order: str, **params: object) -> str:
    change = tokenise.build(params, Syntax.JSON).apply(value, env(order_ref=order))
    assert change.value is not None
    return change.value


def test_same_value_same_order_gives_same_token() -> None:
    """Within one order a value always maps to one token, so later PATCHes agree with the POST."""
    assert _token("Mario Rossi", "A-1") == _token("Mario Rossi", "A-1")


def test_same_value_different_orders_give_unrelated_tokens() -> None:
    """Two orders of the same customer cannot be linked through the token."""
    assert _token("Mario Rossi", "A-1") != _token("Mario Rossi", "A-2")


def test_opaque_token_shape_and_vault_pair() -> None:
    """Opaque tokens are ``tok_`` + 24 base32 characters; the pair for the vault is returned."""
    change = tokenise.build({}, Syntax.JSON).apply("Mario Rossi", env(order_ref="A-1"))
    assert change.value is not None
    assert re.fullmatch(r"tok_[a-z2-7]{24}", change.value)
    assert change.token is not None
    assert (change.token.token, change.token.original, change.token.format) == (
        change.value,
        "Mario Rossi",
        "opaque",
    )
    assert change.token_id == change.token.id
    assert "Mario" not in change.token.id
    assert change.removed
    assert change.allowed == change.value


def test_token_id_is_stable_per_order() -> None:
    """The vault id of a value's token is the same on every message of the order."""
    build = tokenise.build({}, Syntax.JSON)
    first = build.apply("x", env(order_ref="A-1")).token_id
    assert first == build.apply("x", env(order_ref="A-1")).token_id
    assert first != build.apply("x", env(order_ref="A-2")).token_id


def test_digits_keeps_length_separators_and_leading_digits() -> None:
    """``digits`` replaces digits only, after ``keep_leading`` of them, so patterns still hold."""
    token = _token("06 4567-8901", "A-1", format="digits", keep_leading=2)
    assert re.fullmatch(r"06 \d{4}-\d{4}", token)
    assert token != "06 4567-8901"


@given(value=st.text(max_size=40), order=ORDERS)
def test_codice_fiscale_tokens_are_always_valid(value: str, order: str) -> None:
    """Whatever the input, the token is a checksum-valid codice fiscale matching the XSD pattern."""
    token = _token(value, order, format="codice_fiscale")
    assert codicefiscale.is_valid(token)
    assert CF_PATTERN.fullmatch(token)


def test_missing_order_reference_is_a_policy_error() -> None:
    """Tokens are per order: without an order reference there is no safe token."""
    with pytest.raises(PolicyError, match="expected an order reference"):
        tokenise.build({}, Syntax.JSON).apply("x", env(order_ref=None))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "uuid"}, "expected one of opaque, digits, codice_fiscale"),
        ({"format": "digits", "keep_leading": -1}, "expected a non-negative integer"),
        ({"keep_leading": 2}, "only with format digits"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    """Parameter mistakes name the parameter and the expectation."""
    with pytest.raises(ParamError, match=message):
        tokenise.build(params, Syntax.JSON)


@given(seed=st.binary(min_size=32, max_size=32))
def test_opaque_tokens_are_base32_of_the_seeds_first_120_bits(seed: bytes) -> None:
    """The table-driven encoding writes what the standard library's base32 would, lower case."""
    expected = "tok_" + base64.b32encode(seed[:15]).decode("ascii").lower()
    assert tokenise.opaque(seed, b"", "", 0) == expected


def _reference(seed: bytes, key: bytes, fmt: str, original: str, keep: int) -> str:
    """The digits and codice fiscale formats as first written: one call per character."""
    stream = tokenise._stream(seed, key)

    def pick(alphabet: str) -> str:
        limit = 256 - 256 % len(alphabet)
        while True:
            byte = next(stream)
            if byte < limit:
                return alphabet[byte % len(alphabet)]

    if fmt == "digits":
        out, seen = [], 0
        for char in original:
            if char.isascii() and char.isdigit():
                seen += 1
                out.append(char if seen <= keep else pick("0123456789"))
            else:
                out.append(char)
        return "".join(out)
    letters = "".join(pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6))
    year = pick("0123456789") + pick("0123456789")
    month = pick("ABCDEHLMPRST")
    day = 1 + (next(stream) % 28) + (40 if next(stream) & 1 else 0)
    place = pick("ABCDEFGHILM") + "".join(pick("0123456789") for _ in range(3))
    body = f"{letters}{year}{month}{day:02d}{place}"
    return body + str(codicefiscale.calc_check_digit(body))


@given(
    seed=st.binary(min_size=32, max_size=32),
    original=st.text("0123456789 +-/.a٣", max_size=40),
    keep=st.integers(0, 6),
)
def test_formats_draw_the_same_characters_as_one_pick_per_character(
    seed: bytes, original: str, keep: int
) -> None:
    """Drawing a format's characters in one loop consumes the keyed stream as before."""
    key = b"t" * 32
    assert tokenise.digits(seed, key, original, keep) == _reference(
        seed, key, "digits", original, keep
    )
    assert tokenise.codice_fiscale(seed, key, original, 0) == _reference(
        seed, key, "codice_fiscale", original, 0
    )
