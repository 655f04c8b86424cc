"""hash: keyed HMAC-SHA256 pseudonyms, never a bare hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from proxy.actions import hash as hash_action
from proxy.actions.base import Context, Env, Keys, ParamError, Syntax
from tests.actions.support import KEYS, env


def test_hex_is_the_keyed_hmac_of_the_value() -> None:
    """The output is HMAC-SHA256 under the hash key (domain-separated), not SHA-256 of the value."""
    change = hash_action.build({}, Syntax.JSON).apply("Laura Bianchi", env())
    expected = hmac.new(KEYS.hash, b"civetta/hash\x00Laura Bianchi", hashlib.sha256).hexdigest()
    assert change.value == expected
    assert change.value != hashlib.sha256(b"Laura Bianchi").hexdigest()
    assert change.removed


def test_base64url_is_unpadded() -> None:
    """``encoding: base64url`` gives 43 URL-safe characters."""
    change = hash_action.build({"encoding": "base64url"}, Syntax.JSON).apply("x", env())
    assert change.value is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", change.value)
    assert base64.urlsafe_b64decode(change.value + "=") != b""


def test_another_key_gives_another_pseudonym() -> None:
    """Without the key the pseudonym cannot be recomputed from a guessed value."""
    action = hash_action.build({}, Syntax.JSON)
    other = Env(Context(Keys(KEYS.commit, KEYS.token, b"k" * 32)))
    assert action.apply("x", env()).value != action.apply("x", other).value


def test_same_value_same_pseudonym_across_orders() -> None:
    """Unlike tokens, pseudonyms are linkable across orders (use tokenise to avoid that)."""
    action = hash_action.build({}, Syntax.JSON)
    assert (
        action.apply("x", env(order_ref="A")).value == action.apply("x", env(order_ref="B")).value
    )


def test_unknown_encoding_is_refused() -> None:
    """Only hex and base64url exist."""
    with pytest.raises(ParamError, match="expected one of hex, base64url"):
        hash_action.build({"encoding": "base32"}, Syntax.JSON)
