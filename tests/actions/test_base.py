"""The action contract's helpers: the keyed MAC every commitment, token and pseudonym uses."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from proxy.actions import base
from proxy.actions.base import mac

KEYS = st.binary(max_size=150)  # empty, shorter than, as long as and longer than a block
PARTS = st.lists(st.binary(max_size=200), min_size=1, max_size=4)


@given(key=KEYS, parts=PARTS)
def test_mac_is_hmac_sha256_of_the_nul_joined_parts(key: bytes, parts: list[bytes]) -> None:
    """Precomputed pads give the very bytes of the standard library's HMAC, for any key."""
    expected = hmac.new(key, b"\x00".join(parts), hashlib.sha256).digest()
    assert mac(key, *parts) == expected
    assert mac(key, *parts) == expected  # the second call reads the cached pads


def test_mac_key_cache_stays_bounded() -> None:
    """Many keys (tests, key rotation) never grow the cache of pads past its bound."""
    for i in range(3 * base._MAX_KEYS):
        key = i.to_bytes(4, "big")
        assert mac(key, b"x") == hmac.new(key, b"x", hashlib.sha256).digest()
    assert len(base._PADS) <= base._MAX_KEYS
